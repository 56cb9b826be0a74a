/**
 * Whether a process with this PID exists: signal 0 checks without sending anything. EPERM means it
 * exists but belongs to someone else (another user's process holding the PID is still alive).
 */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
