"""Watch: baselines, anomaly detection, deadline-risk forecast and the findings alerts are made of."""
