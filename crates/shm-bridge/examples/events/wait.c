/* Waits on a game's event bridged by shm-bridge. The file /dev/shm/NAME
 * holds a little-endian uint32 counter that the bridge raises by one for
 * each signal of the game, waking every process waiting on the word
 * (FUTEX_WAKE, shared). A signal missed while busy shows as a jump.
 *
 * cc -O2 -o wait wait.c && ./wait /dev/shm/NAME [SECONDS]
 * Prints "count N" at each wake, and at the end "woke W, counter moved M". */
#include <fcntl.h>
#include <linux/futex.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s /dev/shm/NAME [SECONDS]\n", argv[0]);
        return 2;
    }
    double seconds = argc > 2 ? atof(argv[2]) : 10.0;
    int fd = open(argv[1], O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        perror(argv[1]);
        return 1;
    }
    _Atomic uint32_t *counter = mmap(NULL, 4, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    if (counter == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    struct timespec now, end;
    clock_gettime(CLOCK_MONOTONIC, &end);
    end.tv_sec += (time_t)seconds;
    end.tv_nsec += (long)((seconds - (time_t)seconds) * 1e9);
    if (end.tv_nsec >= 1000000000L) {
        end.tv_sec += 1;
        end.tv_nsec -= 1000000000L;
    }
    uint32_t first = atomic_load_explicit(counter, memory_order_acquire);
    uint32_t seen = first;
    unsigned woke = 0;
    printf("waiting on %s (count %u)\n", argv[1], first);
    fflush(stdout);
    for (;;) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        long long left = (end.tv_sec - now.tv_sec) * 1000000000LL + (end.tv_nsec - now.tv_nsec);
        if (left <= 0)
            break;
        struct timespec timeout = { left / 1000000000LL, left % 1000000000LL };
        /* Sleeps only while the counter still holds `seen`: no signal is lost. */
        syscall(SYS_futex, counter, FUTEX_WAIT, seen, &timeout, NULL, 0);
        uint32_t value = atomic_load_explicit(counter, memory_order_acquire);
        if (value != seen) {
            woke++;
            seen = value;
            printf("count %u\n", value);
            fflush(stdout);
        }
    }
    printf("woke %u, counter moved %u\n", woke, seen - first);
    return 0;
}
