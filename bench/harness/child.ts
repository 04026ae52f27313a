// Runs one benchmark child process and returns the JSON record it printed.
//
// Every measurement runs in its own process so one side's heap, JIT state, thread pools and page
// cache warm-up never leak into the other's. The child prints one JSON line on stdout (its last
// line starting with '{' is taken); the harness adds the wall time from spawn to exit, which is
// the figure for end-to-end workloads (process start and data loading included).
import { spawn, spawnSync } from 'node:child_process';

export interface ChildCommand {
  /** Executable: process.execPath for Node children, /usr/bin/python3 for the PyTorch peer. */
  readonly command: string;
  readonly args: readonly string[];
  /** Added to the harness's environment. */
  readonly env?: Readonly<Record<string, string>>;
}

export type ChildRecord = Readonly<Record<string, unknown>>;

export interface ChildResult {
  readonly record: ChildRecord;
  /** Wall seconds from spawn to exit, measured by the harness. */
  readonly wallSeconds: number;
}

/** Node with tsx's loader, so TypeScript children run without a build step. */
export function nodeTs(script: string, args: readonly string[], env?: Record<string, string>): ChildCommand {
  return { command: process.execPath, args: ['--import', 'tsx', script, ...args], ...(env ? { env } : {}) };
}

export function describe(child: ChildCommand): string {
  const command = child.command === process.execPath ? 'node' : child.command;
  return [command, ...child.args].join(' ');
}

/**
 * Spawns the child, waits for it, and parses its JSON line. Rejects with the child's stderr tail
 * when it exits non-zero, prints no JSON, or runs longer than `timeoutSeconds`.
 */
export function runChild(child: ChildCommand, cwd: string, timeoutSeconds: number): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const proc = spawn(child.command, [...child.args], {
      cwd,
      env: { ...process.env, ...child.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    proc.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    proc.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutSeconds * 1000);
    proc.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    proc.on('close', (code, signal) => {
      clearTimeout(timer);
      const wallSeconds = Number(process.hrtime.bigint() - start) / 1e9;
      const tail = stderr.trim().split('\n').slice(-15).join('\n');
      if (code !== 0) {
        const why =
          signal === 'SIGKILL' ? `timed out after ${timeoutSeconds} s` : `exited with ${code ?? signal}`;
        reject(new Error(`${describe(child)} ${why}\n${tail}`));
        return;
      }
      const line = stdout
        .split('\n')
        .reverse()
        .find((candidate) => candidate.trimStart().startsWith('{'));
      if (line === undefined) {
        reject(new Error(`${describe(child)} printed no JSON line on stdout\n${tail}`));
        return;
      }
      try {
        resolve({ record: JSON.parse(line) as ChildRecord, wallSeconds });
      } catch (error) {
        reject(new Error(`${describe(child)} printed invalid JSON (${String(error)}): ${line}`));
      }
    });
  });
}

/** True when `python -c 'import torch'` succeeds (Debian's python3-torch for the peer). */
export function pythonHasTorch(python: string): boolean {
  const result = spawnSync(python, ['-c', 'import torch'], { stdio: 'ignore', timeout: 60_000 });
  return result.status === 0;
}
