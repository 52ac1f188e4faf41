"""Following tasks until they end: one follower per task (follower: the reads, the socket, every
waiter's hard limit), the registry every wait goes through, the poll schedule, and progress.

May import: wiro and the shared modules.
"""
