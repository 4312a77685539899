"""The business night the simulator plays: job streams, their jobs and their dependencies.

Names are what an operator of a mid-size company's TWS plan would recognise. Offsets are
minutes after the plan's start (the evening batch). ``follows`` names job streams whose last
job must end before this stream's first job starts (cross-stream dependencies).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CATALOGUE", "GENERIC_STEPS", "REGIONS", "WORKSTATIONS", "StreamSpec", "WorkstationSpec"]


@dataclass(frozen=True)
class WorkstationSpec:
    """A workstation of the simulated plan."""

    name: str
    type: str
    os: str
    limit: int


@dataclass(frozen=True)
class StreamSpec:
    """A job stream template.

    Attributes:
        name: Job stream name.
        agent: Workstation its jobs run on.
        at: Minutes after plan start (the stream's at-time, its ``schedTime``).
        jobs: Explicit job names, or empty to generate ``<domain>_<step>`` names.
        follows: Job streams that must finish first (their last job).
        sla: Minutes after ``at`` by which the stream must end (deadline), if any.
        priority: Job priority (10 is the default).
        domain: Failure family (``db``, ``file``, ``sap``, ``win``, ``java``, ``mft``).
    """

    name: str
    agent: str
    at: int
    jobs: tuple[str, ...] = ()
    follows: tuple[str, ...] = ()
    sla: int | None = None
    priority: int = 10
    domain: str = "db"


WORKSTATIONS: tuple[WorkstationSpec, ...] = (
    WorkstationSpec("MASTER", "MASTER", "UNIX", 10),
    WorkstationSpec("AGT_LNX01", "AGENT", "UNIX", 20),
    WorkstationSpec("AGT_LNX02", "AGENT", "UNIX", 20),
    WorkstationSpec("AGT_LNX03", "AGENT", "UNIX", 20),
    WorkstationSpec("AGT_WIN01", "AGENT", "WNT", 15),
    WorkstationSpec("FTA_AIX01", "FTA", "UNIX", 12),
)

GENERIC_STEPS: tuple[str, ...] = (
    "INIT",
    "EXTRACT",
    "VALIDATE",
    "TRANSFORM",
    "SORT",
    "LOAD",
    "MERGE",
    "AGGREGATE",
    "RECONCILE",
    "EXPORT",
    "REPORT",
    "ARCHIVE",
    "NOTIFY",
    "CLEANUP",
)

REGIONS: tuple[str, ...] = ("EU", "US", "APAC", "LATAM")

CATALOGUE: tuple[StreamSpec, ...] = (
    StreamSpec(
        "TRE_FX_RATES",
        "FTA_AIX01",
        0,
        ("TRE_FX_DOWNLOAD", "TRE_FX_VALIDATE", "TRE_FX_LOAD"),
        domain="mft",
    ),
    StreamSpec("ETL_SALES", "AGT_LNX02", 0, domain="db", sla=150),
    StreamSpec("ETL_WEB_CLICKS", "AGT_LNX02", 0, domain="java"),
    StreamSpec(
        "MFT_INBOUND",
        "AGT_LNX01",
        0,
        ("MFT_IN_POLL", "MFT_IN_DECRYPT", "MFT_IN_ROUTE", "MFT_IN_ACK"),
        domain="mft",
    ),
    StreamSpec("ORD_IMPORT", "AGT_WIN01", 5, domain="win"),
    StreamSpec(
        "TRE_BANK_STMT",
        "FTA_AIX01",
        10,
        ("TRE_BANK_MT940_GET", "TRE_BANK_PARSE", "TRE_BANK_LOAD", "TRE_BANK_MATCH"),
        domain="mft",
    ),
    StreamSpec(
        "HR_SYNC",
        "AGT_LNX01",
        15,
        ("HR_EXTRACT_WORKDAY", "HR_VALIDATE", "HR_LOAD_EMPLOYEES", "HR_LOAD_ORG", "HR_NOTIFY"),
        domain="java",
    ),
    StreamSpec(
        "CRM_SYNC",
        "AGT_WIN01",
        20,
        (
            "CRM_EXPORT_ACCOUNTS",
            "CRM_EXPORT_CONTACTS",
            "CRM_EXPORT_OPPTY",
            "CRM_STAGE_LOAD",
            "CRM_SYNC_CHECK",
        ),
        domain="win",
    ),
    StreamSpec(
        "BILLING_USAGE",
        "AGT_LNX03",
        30,
        ("BILLING_CDR_COLLECT", "BILLING_CDR_DEDUP", "BILLING_USAGE_RATE", "BILLING_USAGE_LOAD"),
        domain="db",
    ),
    StreamSpec("ETL_INVENTORY", "AGT_LNX02", 30, domain="db"),
    StreamSpec(
        "SEC_AUDIT",
        "MASTER",
        30,
        ("SEC_AUDIT_COLLECT", "SEC_AUDIT_SCAN", "SEC_AUDIT_REPORT"),
        domain="file",
    ),
    StreamSpec("ETL_CRM_LOAD", "AGT_LNX02", 45, follows=("CRM_SYNC",), domain="db"),
    StreamSpec("ECOM_CATALOG", "AGT_WIN01", 50, domain="win"),
    StreamSpec(
        "PAYROLL_DAILY",
        "AGT_LNX01",
        60,
        (
            "PAYROLL_INIT",
            "PAYROLL_EXTRACT",
            "PAYROLL_VALIDATE",
            "PAYROLL_CALC",
            "PAYROLL_TAX_CALC",
            "PAYROLL_BANK_FILE",
            "PAYROLL_GL_POST",
            "PAYROLL_REPORT",
        ),
        follows=("HR_SYNC",),
        sla=150,
        priority=60,
        domain="db",
    ),
    StreamSpec("ORD_FULFIL", "AGT_WIN01", 75, follows=("ORD_IMPORT",), domain="win"),
    StreamSpec(
        "GL_DAILY_POST",
        "AGT_LNX02",
        90,
        ("GL_POST_EXTRACT", "GL_POST_JOURNALS", "GL_POST_BALANCES", "GL_POST_CHECK"),
        sla=120,
        priority=40,
        domain="db",
    ),
    StreamSpec(
        "AP_PAYMENTS",
        "AGT_LNX01",
        100,
        (
            "AP_SELECT_INVOICES",
            "AP_PAYMENT_PROPOSAL",
            "AP_PAYMENT_RUN",
            "AP_BANK_FILE",
            "AP_REMITTANCE",
        ),
        sla=180,
        priority=40,
        domain="db",
    ),
    StreamSpec(
        "BILLING_RUN",
        "AGT_LNX03",
        120,
        (
            "BILLING_RUN_INIT",
            "BILLING_RUN_RATE",
            "BILLING_RUN_TAX",
            "BILLING_RUN_DISCOUNTS",
            "BILLING_RUN_POST",
            "BILLING_RUN_CHECK",
        ),
        follows=("BILLING_USAGE", "CRM_SYNC"),
        sla=180,
        priority=50,
        domain="db",
    ),
    StreamSpec(
        "SAP_MRP",
        "FTA_AIX01",
        120,
        ("SAP_MRP_EXTRACT", "SAP_MRP_RUN", "SAP_MRP_PLANNED_ORDERS", "SAP_MRP_REPORT"),
        domain="sap",
    ),
    StreamSpec(
        "AR_CASH_APPLY",
        "AGT_LNX01",
        130,
        ("AR_CASH_LOAD", "AR_CASH_MATCH", "AR_CASH_POST"),
        follows=("TRE_BANK_STMT",),
        domain="db",
    ),
    StreamSpec("ETL_FINANCE", "AGT_LNX02", 60, domain="db"),
    StreamSpec("ETL_HR", "AGT_LNX01", 70, follows=("HR_SYNC",), domain="db"),
    StreamSpec("MKT_SEGMENTS", "AGT_WIN01", 110, follows=("CRM_SYNC",), domain="win"),
    StreamSpec("PROC_PURCHASE_ORDERS", "FTA_AIX01", 140, domain="sap"),
    StreamSpec("ORD_RETURNS", "AGT_WIN01", 170, follows=("ORD_IMPORT",), domain="win"),
    StreamSpec("BILLING_RECON", "AGT_LNX03", 195, follows=("BILLING_USAGE",), domain="db"),
    StreamSpec("ETL_MARKETING", "AGT_LNX02", 205, domain="java"),
    StreamSpec("CRM_DEDUP", "AGT_WIN01", 215, domain="win"),
    StreamSpec("SUPPLY_FORECAST", "AGT_LNX03", 222, domain="java"),
    StreamSpec("EDW_SNAPSHOT", "AGT_LNX02", 228, domain="db"),
    StreamSpec("LOG_CARRIER_RATES", "AGT_LNX01", 234, domain="mft"),
    StreamSpec("INV_CYCLE_COUNT", "FTA_AIX01", 238, domain="sap"),
    StreamSpec("RPT_SALES_FLASH", "MASTER", 300, follows=("ETL_SALES",), domain="java"),
    StreamSpec(
        "EDW_LOAD_DAILY",
        "AGT_LNX02",
        150,
        follows=("ETL_SALES", "ETL_CRM_LOAD", "ETL_INVENTORY"),
        sla=240,
        priority=30,
        domain="db",
    ),
    StreamSpec("LOG_SHIPMENTS", "AGT_WIN01", 160, follows=("ORD_FULFIL",), domain="win"),
    StreamSpec(
        "BILLING_INVOICE",
        "AGT_LNX03",
        180,
        ("BILLING_INV_GENERATE", "BILLING_INV_PDF", "BILLING_INV_EMAIL", "BILLING_INV_ARCHIVE"),
        follows=("BILLING_RUN",),
        sla=240,
        domain="java",
    ),
    StreamSpec(
        "GL_CLOSE",
        "AGT_LNX02",
        200,
        (
            "GL_CLOSE_INIT",
            "GL_CLOSE_ACCRUALS",
            "GL_CLOSE_FX_REVAL",
            "GL_CLOSE_ALLOC",
            "GL_CLOSE_INTERCO",
            "GL_CLOSE_TRIAL_BAL",
            "GL_CLOSE_LOCK_PERIOD",
            "GL_CLOSE_REPORT",
        ),
        follows=("GL_DAILY_POST", "PAYROLL_DAILY", "BILLING_RUN"),
        sla=240,
        priority=80,
        domain="db",
    ),
    StreamSpec("INV_REPLENISH", "AGT_LNX03", 210, follows=("ETL_INVENTORY",), domain="sap"),
    StreamSpec("CUST_STMTS", "AGT_LNX03", 230, follows=("BILLING_INVOICE",), domain="java"),
    StreamSpec(
        "EDW_AGGREGATES", "AGT_LNX02", 240, follows=("EDW_LOAD_DAILY",), sla=200, domain="db"
    ),
    StreamSpec(
        "FIN_RECON",
        "AGT_LNX02",
        250,
        ("FIN_RECON_BANK", "FIN_RECON_AR", "FIN_RECON_AP", "FIN_RECON_REPORT"),
        follows=("GL_DAILY_POST", "AR_CASH_APPLY"),
        domain="db",
    ),
    StreamSpec("INV_VALUATION", "AGT_LNX03", 260, follows=("INV_REPLENISH",), domain="sap"),
    StreamSpec(
        "AR_DUNNING",
        "AGT_LNX01",
        270,
        ("AR_DUNNING_SELECT", "AR_DUNNING_LETTERS", "AR_DUNNING_SEND"),
        follows=("AR_CASH_APPLY",),
        domain="java",
    ),
    StreamSpec(
        "RISK_VAR",
        "AGT_LNX02",
        280,
        ("RISK_VAR_MARKETDATA", "RISK_VAR_POSITIONS", "RISK_VAR_SIMULATE", "RISK_VAR_REPORT"),
        follows=("TRE_FX_RATES", "EDW_LOAD_DAILY"),
        sla=240,
        priority=50,
        domain="java",
    ),
    StreamSpec("EDW_MARTS", "AGT_LNX02", 300, follows=("EDW_AGGREGATES",), domain="db"),
    StreamSpec(
        "RISK_LIQUIDITY",
        "AGT_LNX02",
        320,
        ("RISK_LIQ_CASHFLOWS", "RISK_LIQ_LCR", "RISK_LIQ_REPORT"),
        follows=("TRE_BANK_STMT",),
        domain="java",
    ),
    StreamSpec(
        "CRM_CAMPAIGN",
        "AGT_WIN01",
        330,
        ("CRM_CAMP_SEGMENT", "CRM_CAMP_SCORE", "CRM_CAMP_EXPORT"),
        domain="win",
    ),
    StreamSpec(
        "BACKUP_ORADB",
        "FTA_AIX01",
        360,
        ("BACKUP_ORA_PRECHECK", "BACKUP_ORA_RMAN_L1", "BACKUP_ORA_ARCHLOG", "BACKUP_ORA_VERIFY"),
        domain="file",
    ),
    StreamSpec(
        "RPT_DAILY_KPI",
        "MASTER",
        400,
        ("RPT_KPI_EXTRACT", "RPT_KPI_BUILD", "RPT_KPI_PUBLISH"),
        follows=("EDW_MARTS",),
        sla=120,
        domain="java",
    ),
    StreamSpec(
        "BACKUP_FS",
        "FTA_AIX01",
        420,
        ("BACKUP_FS_SNAPSHOT", "BACKUP_FS_COPY", "BACKUP_FS_VERIFY"),
        domain="file",
    ),
    StreamSpec(
        "RPT_REGULATORY",
        "AGT_LNX02",
        450,
        ("RPT_REG_COLLECT", "RPT_REG_VALIDATE", "RPT_REG_XBRL", "RPT_REG_SUBMIT"),
        follows=("RISK_VAR", "GL_CLOSE"),
        sla=180,
        priority=70,
        domain="java",
    ),
    StreamSpec(
        "BACKUP_SAP",
        "FTA_AIX01",
        480,
        ("BACKUP_SAP_HANA", "BACKUP_SAP_LOGS", "BACKUP_SAP_VERIFY"),
        domain="sap",
    ),
    StreamSpec(
        "MFT_OUTBOUND",
        "AGT_LNX01",
        500,
        ("MFT_OUT_COLLECT", "MFT_OUT_ENCRYPT", "MFT_OUT_SEND_BANK", "MFT_OUT_SEND_PARTNERS"),
        follows=("BILLING_INVOICE", "AP_PAYMENTS"),
        domain="mft",
    ),
    StreamSpec("DBM_STATS", "AGT_LNX02", 540, ("DBM_STATS_GATHER", "DBM_STATS_CHECK"), domain="db"),
    StreamSpec(
        "DBM_REORG",
        "AGT_LNX02",
        560,
        ("DBM_REORG_INDEXES", "DBM_REORG_TABLES", "DBM_REORG_CHECK"),
        domain="db",
    ),
    StreamSpec(
        "TWS_HOUSEKEEPING",
        "MASTER",
        600,
        ("TWS_PURGE_STDLIST", "TWS_ARCHIVE_PLAN", "TWS_AUDIT_EXPORT"),
        domain="file",
    ),
    StreamSpec(
        "ARCHIVE_LOGS",
        "FTA_AIX01",
        620,
        ("ARCHIVE_COMPRESS", "ARCHIVE_TRANSFER", "ARCHIVE_PURGE"),
        domain="file",
    ),
)
