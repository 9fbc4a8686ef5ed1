/*
 * bcryptprimitives.dll for Wine older than 8.13.
 *
 * Rust's std (1.78 and later) for x86_64-pc-windows-gnu imports
 * bcryptprimitives.dll!ProcessPrng, which Wine added in 8.13; without it an
 * exe dies before main with c0000135 (DLL not found), as on Debian 12's
 * Wine 8.0. Placed beside our exes, this DLL supplies ProcessPrng from
 * advapi32's RtlGenRandom (SystemFunction036). Where Wine has its own
 * (8.13 and later, Proton 9 and later) either DLL answers the call alike.
 */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    while (length > 0) {
        ULONG chunk = length > 0x40000000u ? 0x40000000u : (ULONG)length;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
