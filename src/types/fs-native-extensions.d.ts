declare module 'fs-native-extensions' {
  /**
   * Requests an advisory lock on the open file `fd` without waiting: `true` when granted, `false`
   * when another open file description holds it. Linux: open file description locks
   * (F_OFD_SETLK), macOS: flock(2), Windows: LockFileEx. Released on unlock, on close of the
   * descriptor, or when the process dies.
   */
  export function tryLock(fd: number, options?: { shared?: boolean }): boolean;
  /** Releases the lock this process holds on `fd`; the descriptor stays open. */
  export function unlock(fd: number): void;
}
