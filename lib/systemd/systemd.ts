// The systemd gateway: the only module that calls systemctl, always as an
// argv array and always on the user manager (`--user`).
import { describeFailure, exec, type ExecResult } from '../core/exec.js';
import { FleetError } from '../core/errors.js';

/** The fleet's dispatcher (queued messages, notifications): lib/dispatch/dispatcher.ts. */
export const DISPATCH_UNIT = 'mosaic-fleet-dispatch.service';
export const HOLDER_UNIT = 'mosaic-tmux-holder.service';
export const FLEET_TARGET = 'mosaic-fleet.target';

/** The unit name of an agent. */
export function agentUnit(name: string): string {
  return `mosaic-agent@${name}.service`;
}

/** The agent name of a unit name, or undefined when it is not an agent unit. */
export function agentOfUnit(unit: string): string | undefined {
  const m = /^mosaic-agent@(.+)\.service$/.exec(unit);
  return m?.[1];
}

/** How long one systemctl call may take (a start waits for the unit's own start, up to its TimeoutStartSec). */
const SYSTEMCTL_TIMEOUT_MS = 120_000;

/** The user's systemd manager, reached with the environment it was made with (XDG_RUNTIME_DIR and DBUS_SESSION_BUS_ADDRESS find the manager). */
export class Systemd {
  constructor(readonly env: NodeJS.ProcessEnv) {}

  /** Run `systemctl --user ARGS`. */
  run(args: readonly string[]): Promise<ExecResult> {
    return exec(['systemctl', '--user', ...args], { env: this.env, timeoutMs: SYSTEMCTL_TIMEOUT_MS });
  }

  /** Run a systemctl command that must succeed. */
  async must(args: readonly string[], what: string): Promise<string> {
    const r = await this.run(args);
    if (r.code !== 0) {
      throw new FleetError(`systemctl could not ${what}: ${describeFailure(['systemctl', '--user', ...args], r, SYSTEMCTL_TIMEOUT_MS)}`, 'see: systemctl --user status ' + args.slice(1).join(' '));
    }
    return r.stdout;
  }

  /**
   * Clear the failed state (and start-limit count) of units about to be
   * started, so a unit that gave up before the roster was fixed starts at once
   * instead of failing for a minute. Units systemd does not know are skipped.
   */
  async resetFailed(units: readonly string[]): Promise<void> {
    if (units.length === 0) return;
    const r = await this.run(['reset-failed', '--', ...units]);
    // A unit that is not loaded makes the whole call fail: clear them one by one then.
    if (r.code !== 0 && units.length > 1) for (const u of units) await this.run(['reset-failed', '--', u]);
  }

  /** The state of many units in one systemctl call, whatever their number. */
  async unitStates(units: string[]): Promise<Map<string, UnitState>> {
    if (units.length === 0) return new Map();
    const r = await this.run(['show', '--timestamp=unix', '--property', PROPS.join(','), '--', ...units]);
    if (r.code !== 0) {
      throw new FleetError(`systemctl could not read unit states: ${r.stderr.trim()}`, 'check that the user manager runs: systemctl --user status');
    }
    return new Map(parseShow(r.stdout).map((s) => [s.unit, s]));
  }

  /**
   * The loaded units matching `patterns`, with their states, in one call. Unlike
   * `show`, whose cost grows with every unit it reads, this stays flat as the
   * fleet grows (issue #5's status target).
   */
  async listUnits(patterns: string[]): Promise<Map<string, ListedUnit>> {
    const r = await this.run(['list-units', '--all', '--plain', '--no-legend', '--no-pager', '--', ...patterns]);
    if (r.code !== 0) {
      throw new FleetError(`systemctl could not list units: ${r.stderr.trim()}`, 'check that the user manager runs: systemctl --user status');
    }
    return new Map(parseListUnits(r.stdout).map((u) => [u.unit, u]));
  }

  /** Names of agents that have a loaded unit instance (running, failed, or just known to systemd). */
  async loadedAgents(): Promise<string[]> {
    const r = await this.run(['list-units', '--all', '--plain', '--no-legend', '--no-pager', 'mosaic-agent@*']);
    if (r.code !== 0) return [];
    return parseListUnits(r.stdout)
      .map((u) => agentOfUnit(u.unit))
      .filter((n): n is string => n !== undefined);
  }
}

export interface UnitState {
  unit: string;
  load: string;
  active: string;
  sub: string;
  result: string;
  mainPid: number;
  restarts: number;
  /** Seconds since the epoch when the unit last became active, 0 if never. */
  activeSince: number;
  enabled: string;
}

const PROPS = ['Id', 'LoadState', 'ActiveState', 'SubState', 'Result', 'MainPID', 'NRestarts', 'ActiveEnterTimestamp', 'UnitFileState'];

/** Parse `systemctl show` output for several units (blocks separated by blank lines). */
export function parseShow(stdout: string): UnitState[] {
  return stdout
    .split(/\n\n+/)
    .filter((b) => b.trim() !== '')
    .map((block) => {
      const kv = new Map<string, string>();
      for (const line of block.split('\n')) {
        const i = line.indexOf('=');
        if (i > 0) kv.set(line.slice(0, i), line.slice(i + 1));
      }
      // With --timestamp=unix the value reads `@SECONDS`.
      const ts = /^@(\d+)/.exec(kv.get('ActiveEnterTimestamp') ?? '');
      return {
        unit: kv.get('Id') ?? '',
        load: kv.get('LoadState') ?? '',
        active: kv.get('ActiveState') ?? '',
        sub: kv.get('SubState') ?? '',
        result: kv.get('Result') ?? '',
        mainPid: Number(kv.get('MainPID') ?? 0),
        restarts: Number(kv.get('NRestarts') ?? 0),
        activeSince: ts ? Number(ts[1]) : 0,
        enabled: kv.get('UnitFileState') ?? '',
      };
    });
}

export interface ListedUnit {
  unit: string;
  load: string;
  active: string;
  sub: string;
}

/** Parse `systemctl list-units --plain --no-legend` lines: UNIT LOAD ACTIVE SUB DESCRIPTION. */
export function parseListUnits(stdout: string): ListedUnit[] {
  return stdout
    .split('\n')
    .map((l) => l.trim().replace(/^●\s*/, '').split(/\s+/))
    .filter((f) => f.length >= 4 && f[0]!.includes('.'))
    .map(([unit, load, active, sub]) => ({ unit: unit!, load: load!, active: active!, sub: sub! }));
}
