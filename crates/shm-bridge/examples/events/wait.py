#!/usr/bin/env python3
"""Waits on a game's event bridged by shm-bridge, with the standard library
only. The file /dev/shm/NAME holds a little-endian u32 counter that the
bridge raises by one for each signal of the game, waking every process
waiting on the word (FUTEX_WAKE, shared). A signal missed while busy shows
as a jump of the counter.

usage: wait.py /dev/shm/NAME [SECONDS]
Prints "count N" at each wake, and at the end "woke W, counter moved M".
"""

import ctypes
import os
import sys
import time

SYS_FUTEX = {"x86_64": 202, "aarch64": 98}[os.uname().machine]
FUTEX_WAIT = 0  # shared: no FUTEX_PRIVATE_FLAG, as the bridge wakes it
PROT_READ, MAP_SHARED = 1, 1


class Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


def main():
    path = sys.argv[1]
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 10.0
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int,
                          ctypes.c_int, ctypes.c_int, ctypes.c_long]
    libc.syscall.restype = ctypes.c_long
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    address = libc.mmap(None, 4, PROT_READ, MAP_SHARED, fd, 0)
    os.close(fd)
    if address in (None, ctypes.c_void_p(-1).value):
        raise SystemExit(f"cannot map {path}: {os.strerror(ctypes.get_errno())}")
    counter = ctypes.c_uint32.from_address(address)
    first = seen = counter.value
    print(f"waiting on {path} (count {first})", flush=True)
    woke = 0
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        timeout = Timespec(int(left), int((left % 1) * 1e9))
        # Sleeps only while the counter still holds `seen`: no signal is lost.
        libc.syscall(SYS_FUTEX, ctypes.c_void_p(address), FUTEX_WAIT,
                     ctypes.c_uint32(seen), ctypes.byref(timeout), None, 0)
        now = counter.value
        if now != seen:
            woke += 1
            seen = now
            print(f"count {now}", flush=True)
    print(f"woke {woke}, counter moved {(seen - first) % 2**32}", flush=True)


if __name__ == "__main__":
    main()
