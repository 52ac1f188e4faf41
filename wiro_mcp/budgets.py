"""Every time budget of the server, in one place, and how a call's `wait_seconds` is spent.

A generate call with `wait_seconds` W (default WIRO_MCP_WAIT_SECONDS, 45 s: under the ~60 s tool-call
limit of common hosts) spends it on one clock that starts when the call does:

1. The Run gets max(RUN_FLOOR, W), never more than RUN_LIMIT: a Run cut short leaves a task in doubt,
   so even a call with W = 0 lets the Run's answer come.
2. The wait for the task lasts until W from the start; the follower's last read may run GRACE past it.
3. Delivery (downloads, previews, saving) gets what is left of W + 1 s, but at least DELIVERY_FLOOR:
   a task that ends at the last moment still comes with its pictures.

The clock starts when the tools/call arrives: what runs before the tool's body (pricing the call for
the person's yes, run_model's read of its model's spec, up to CATALOG_SECONDS when it is not cached)
comes out of W, and the run gets what is left. (On 2026-07-28 a question ends its request; the request
that brings the answer has a wait of its own.)

So a call returns by about W + GRACE + DELIVERY_FLOOR, whatever Wiro does. get_task waits only when
given W; without one, its first answer gets up to READ_BUDGET (one slow Task/Detail must not fail a
plain read). Everything else here bounds one step that no caller's wait covers.

Modules read these at call time (`budgets.X`), so a test can shorten one.
"""

from __future__ import annotations

# -- a call's wait (see above) --------------------------------------------------------------------
RUN_FLOOR = 10.0
RUN_LIMIT = 180.0  # a claim must outlive it: CLAIM_TTL
GRACE = 0.75
DELIVERY_FLOOR = 5.0
READ_BUDGET = 10.0
STOP_BUDGET = 15.0  # kill_task, cancel_task, and the stop after a person pressed stop
# Common hosts cut a tool call at about 60 s (and may send a cancel): one arriving this late is taken
# for that, not for the person pressing stop, so it never stops a paid run (WIRO_MCP_MAX_WAIT_SECONDS
# keeps calls under it).
HOST_CALL_LIMIT = 55.0
# tasks/cancel on 2025-11-25 answers the task cancelled, so it waits this long (after Wiro took the stop)
# for Wiro to apply it; past it, it answers that the stop is asked and not yet confirmed.
CANCEL_CONFIRM = 5.0
HANDLE_FOLLOW = 600.0  # an MCP task follows its Wiro task in waits of this length, until it ends
SEND_SECONDS = 2.0  # one resource update to one subscriber: one that does not read must not hold the others
STALE_AFTER = 2.0  # a status older than this is shown with its age

# -- one request or step -----------------------------------------------------------------------------
REQUEST_TIMEOUT = 30.0  # one HTTP exchange with Wiro
CONNECT_TIMEOUT = 10.0
UPLOAD_WRITE_TIMEOUT = 120.0  # a multipart Run carrying a local picture, on a slow uplink
DOWNLOAD_TIMEOUT = 30.0  # one output file, redirects included
LOOK_TIMEOUT = 30.0  # view_panorama's download of a panorama not seen yet
HEADER_SECONDS = 5.0  # reading an input picture's header from its URL
ROOTS_SECONDS = 5.0  # asking the client for its roots (where local input pictures may come from)
PRICE_SECONDS = 5.0  # Tool/Detail for a model's prices
LIST_SECONDS = 8.0  # Task/List (list_tasks, and settling claims in doubt)
CHECK_SECONDS = 5.0  # one read to tell whether a task from the journal still runs
LOST_ANSWER_LOOK = 5.0  # Task/List right after a Run's answer was lost
EXPORT_WAIT = 30.0  # export_panorama waits this long for its turn: with its own work, under a host's ~60 s

# -- following and announcing ----------------------------------------------------------------------
SOCKET_STABLE = 5.0  # a task socket that lived this long counts as working: its backoff starts over
MODEL_RETRY = 60.0  # a configured model Wiro could not give yet is asked for again after this
ANNOUNCE_SECONDS = 2.0  # one tools/list_changed to every client: one that does not read must not hold a call
STATUS_SEND = 5.0  # a task status notification that cannot be sent by then is dropped
PREPARED_KEPT = 300.0  # a call made ready (validated, priced) waits this long for its run (a person reading)
# How often an MCP task's host is asked to poll (a poll costs a lookup here, never a Wiro request).
POLL_QUEUED_MS = 2000
POLL_RUNNING_MS = 1000
# How long an MCP task is kept: the host's ask, within these (a day by default: long enough to come back
# to, short enough to forget).
TASK_TTL_MS = 24 * 3600 * 1000
TASK_TTL_MIN_MS = 60 * 1000
TASK_TTL_MAX_MS = 7 * 24 * 3600 * 1000

# -- the journal ----------------------------------------------------------------------------------------
LOCK_WAIT = 10.0  # a write waits this long for another process's transaction
DATABASE_WAIT = 1.0  # a call waits this long for a free connection to a shared (PostgreSQL) journal
DATABASE_CONNECT = 3.0  # one new connection to it (a database out of reach is known after this)
RETRY_OPEN = 1.0  # after a shared journal could not be opened, calls fail at once for this long
DATABASE_DOWN = 1.0  # after the shared database could not be reached, calls fail at once for this long
BILLS_LEARNT = 30 * 24 * 3600.0  # what Wiro billed is a floor under estimates for this long
CLAIM_TTL = 300.0  # a claim older than this whose task id never came is dead (longer than RUN_LIMIT)
CLAIM_POLL = 0.25  # how often a call waits for another process's claim to get its task id
RETRY_WRITES = 5.0  # how often starts and states the journal could not take are tried again

# -- wiro-mcp doctor ----------------------------------------------------------------------------------
DOCTOR_REQUEST = 10.0  # its one harmless request, to check the credentials
DOCTOR_SOCKET = 5.0  # its ping of the task socket

# -- prices ---------------------------------------------------------------------------------------------
PRICE_TTL = 6 * 3600.0  # Wiro's prices are kept this long
MODEL_SPEC_TTL = 24 * 3600.0  # a model's inputs from Tool/Detail (on disk): asked again after this
SEARCH_TTL = 600.0  # a search_models answer, in memory
CATALOG_SECONDS = 8.0  # Tool/List or Tool/Detail for search_models, describe_model and run_model
PRICE_RETRY_AFTER = 300.0  # after a failed price lookup, Wiro is not asked again for this long

# -- signing in (WIRO_MCP_AUTH_ISSUER) ------------------------------------------------------------------
ISSUER_SECONDS = 5.0  # the identity provider's metadata or its keys (JWKS), one read
KEYS_KEPT = 3600.0  # the provider's keys are read again after this long (a key it rotated in comes sooner)
KEYS_AGAIN = 30.0  # a token signed by a key not yet known reads the keys again, at most this often
KEYS_TRUSTED = 24 * 3600.0  # keys the provider can no longer be asked about are given up after this long
CLOCK_SKEW = 60.0  # a token's exp and nbf are allowed this much difference between our clocks


def host_wait(wait: float, most: float) -> tuple[float, list[str]]:
    """The wait a host's call takes (at most `most`, WIRO_MCP_MAX_WAIT_SECONDS) and, when that cut it, the
    note saying so."""
    if wait <= most:
        return wait, []
    return most, [
        f"wait_seconds {wait:g} was cut to {most:g} (WIRO_MCP_MAX_WAIT_SECONDS): hosts cut a tool call at about "
        "60 s, which may cancel it. The task is not stopped by this: call get_task again to keep waiting."
    ]
