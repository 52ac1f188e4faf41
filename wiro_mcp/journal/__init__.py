"""What the server remembers of tasks: the SQLite store that outlives the process (store, schema), the
service's typed async access to it (access), and the in-process cache of the same facts (memory).

May import: wiro (the typed answers) and the shared modules.
"""
