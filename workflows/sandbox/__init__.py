"""The shipped CodeSandbox: user Python in a separate, resource-limited, unprivileged process.

Layers, from outside in:

- a fresh interpreter (``python -I -S``: no site-packages, no environment influence) in its own session, with
  a scrubbed environment (no secrets: only PATH, LANG, HOME and TMPDIR) and a fresh temp dir as cwd, deleted
  afterwards;
- rlimits set before exec: CPU seconds, address space (capped per call by the operator whatever a node asks),
  file size, open files, no core dumps; calls of one sandbox instance (one per run) share a memory budget;
- where the kernel allows it, private network, mount and IPC namespaces (see ``_isolation.py``): no network
  at all, a size- and inode-capped tmpfs as the temp dir, and an empty ``/proc``;
- wall-time limit: the whole process group is SIGKILLed when it runs out;
- inside the child, before user code: drop to the sandbox's own uid/gid when started as root (61000 by
  default: not ``nobody``, which the embedded services use), RLIMIT_NPROC=0 (no processes, no threads), and an
  audit hook refusing file access outside the temp dir (stdlib reads excepted), directory descriptors,
  sockets, subprocesses, signals, ctypes, ``gc`` and forged bytecode (see ``_child.py``).

Audit hooks are not a security boundary on their own (CPython documents that, and a memory-corruption bug in
the interpreter defeats them); the uid drop, the namespaces and rlimits are the kernel's part. This is not a
VM: the child shares the worker's kernel, and a worker that is not root and may not create user namespaces
gets no kernel boundary beyond rlimits, so production deployments add an out-of-process boundary on top.
"""

from __future__ import annotations

from workflows.sandbox._launcher import SubprocessSandbox, imported_modules, package_index_write

__all__ = ["SubprocessSandbox", "imported_modules", "package_index_write"]
