"""The conversation core shared by every chat surface.

Modules, one job each::

    conversation.py  ChatCore: the walk of a message, of a click, of a proactive post
    dispatcher.py    Dispatcher: the one door into the agents (time limit, words, logs, audit)
    admission.py     dedupe, per-person rate limit, store-failure policy, admission audit
    tasks.py         TaskSupervisor: spawn, bound, drain, stop background work
    paging.py        long replies split into pages behind a More button
    port.py          ChatPort: what the core needs from a platform (each adapter implements it)
    audit.py         the chat audit policy: answer anyway, raise the alarm
    texts.py         every sentence the core says to a person
"""
