"""The rules of wiro-mcp, with no MCP in them: start a run or join the identical one (launch), settle
claims left in doubt (reconcile), wait within a budget, stop, list, read, uploads, and the reports of
a task (its TaskResult and summary). `Service` is the one object the adapter talks to.

May import: every layer below (money, journal, tracking, media, wiro, catalog) and the shared modules.
"""
