// Running mnist-lab under mpirun from a test: the command line, its output, its ranks' pids, and
// weights read back from run directories. The tests skip (saying why) only when mpirun is absent.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeSafetensors } from '../../src/formats/safetensors.js';
export { processState } from '../../src/runs/node/lock.js';

export const MAIN = join(import.meta.dirname, '../../src/cli/main.ts');
/** tsx by absolute URL: a rank started in another working directory resolves it too. */
const TSX = import.meta.resolve('tsx');

/** Why the multi-process tests cannot run here, or undefined when they can. */
export function mpirunMissing(): string | undefined {
  const probe = spawnSync('mpirun', ['--version'], { encoding: 'utf8' });
  return probe.error || probe.status !== 0
    ? 'mpirun not found: install openmpi-bin and libopenmpi-dev (then npm run build:native) to run the data-parallel tests'
    : undefined;
}

/** mpirun's own flags: root needs --allow-run-as-root, more ranks than cores --oversubscribe. */
export function mpirunFlags(): string[] {
  return [...(process.getuid?.() === 0 ? ['--allow-run-as-root'] : []), '--oversubscribe'];
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  seconds: number;
}

export interface Launched {
  pid: number;
  exited: Promise<Exit>;
}

/**
 * `node --import tsx src/cli/main.ts <args>` as `processes` ranks of one job (1: no mpirun at all);
 * `script` runs another TypeScript file instead of the CLI.
 */
export function launch(
  processes: number,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; perRankDirs?: readonly string[]; script?: string } = {},
): Launched {
  const command = [process.execPath, '--import', TSX, options.script ?? MAIN, ...args];
  let argv: string[];
  if (processes === 1) argv = command;
  else if (options.perRankDirs) {
    // MPMD: one app context per rank, each in its own working directory.
    argv = ['mpirun', ...mpirunFlags()];
    options.perRankDirs.forEach((dir, rank) =>
      argv.push(...(rank > 0 ? [':'] : []), '-np', '1', '--wdir', dir, ...command),
    );
  } else argv = ['mpirun', ...mpirunFlags(), '-np', String(processes), ...command];
  const started = performance.now();
  const child = spawn(argv[0] as string, argv.slice(1), {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...options.env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<Exit>((resolve) =>
    child.on('close', (code, signal) =>
      resolve({ code, signal, stdout, stderr, seconds: (performance.now() - started) / 1000 }),
    ),
  );
  return { pid: child.pid as number, exited };
}

/** Runs to the end and asserts success. */
export async function run(processes: number, args: readonly string[]): Promise<Exit> {
  const exit = await launch(processes, args).exited;
  assert.equal(
    exit.code,
    0,
    `${processes} process(es) of mnist-lab ${args.join(' ')} failed:\n${exit.stderr}`,
  );
  return exit;
}

/** The pid of rank `rank` among `launcher`'s children (mpirun forks the ranks of its own host). */
export function rankPid(launcher: number, rank: number): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (parent !== launcher) continue;
      const environ = readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0');
      if (environ.includes(`OMPI_COMM_WORLD_RANK=${rank}`)) return Number(entry);
    } catch {
      continue; // gone meanwhile
    }
  }
  return undefined;
}

/**
 * Waits (polling every 5 ms, at most `seconds`) until the run in `runDir` logged step `step`, then
 * the pid of rank `rank` of the job `launched` started: where a test interrupts or kills a rank.
 */
export async function rankPidAtStep(
  launched: Launched,
  runDir: string,
  step: number,
  seconds: number,
  rank = 1,
): Promise<number> {
  const deadline = Date.now() + seconds * 1000;
  while (lastStep(runDir) < step) {
    assert.ok(Date.now() < deadline, `the run did not reach step ${step} within ${seconds} s`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  const pid = rankPid(launched.pid, rank);
  assert.ok(pid !== undefined, `found no process of rank ${rank} under mpirun`);
  return pid;
}

/** The highest batchEnd step in the run's metrics.jsonl, or -1 before the first. */
export function lastStep(runDir: string): number {
  const path = join(runDir, 'metrics.jsonl');
  if (!existsSync(path)) return -1;
  let step = -1;
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    try {
      const event = JSON.parse(line) as { type?: string; step?: number };
      if (event.type === 'batchEnd' && event.step !== undefined) step = Math.max(step, event.step);
    } catch {
      continue; // half-written while the trainer appends
    }
  }
  return step;
}

/** Every tensor of the run's latest model.safetensors, as float32 values by name. */
export function latestWeights(runDir: string): Map<string, Float32Array> {
  const latest = readFileSync(join(runDir, 'latest'), 'utf8').trim();
  const file = decodeSafetensors(readFileSync(join(runDir, latest, 'model.safetensors')));
  const out = new Map<string, Float32Array>();
  for (const [name, t] of file.tensors) {
    assert.equal(t.dtype, 'F32', `${name} is ${t.dtype}`);
    out.set(name, new Float32Array(Uint8Array.from(t.bytes).buffer));
  }
  return out;
}

/** The largest |a - b| / max|b| over every tensor (0: identical). */
export function largestRelativeDifference(
  a: Map<string, Float32Array>,
  b: Map<string, Float32Array>,
): number {
  assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort());
  let worst = 0;
  for (const [name, values] of b) {
    const other = a.get(name) as Float32Array;
    let scale = 0;
    let difference = 0;
    for (let i = 0; i < values.length; i++) {
      scale = Math.max(scale, Math.abs(values[i] as number));
      difference = Math.max(difference, Math.abs((values[i] as number) - (other[i] as number)));
    }
    worst = Math.max(worst, difference / Math.max(scale, 1e-30));
  }
  return worst;
}
