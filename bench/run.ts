// `npm run bench`: every benchmark, one after the other (their figures are
// ratios measured within one run, since this machine is shared and noisy).
import { $ } from 'zx';

const only = process.argv.slice(2);
const all = ['agent-send', 'events', 'dispatch', 'status', 'mcp', 'hosts', 'fleet', 'scale'];
for (const name of only.length ? only : all) {
  console.log(`\n=== bench/${name}.ts`);
  const r = await $({ nothrow: true, stdio: 'inherit' })`node --import tsx ${`bench/${name}.ts`}`;
  if (r.exitCode !== 0) process.exitCode = 1;
}
