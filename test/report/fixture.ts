import type { ReportData } from '../../src/report/index.js';

/** A report with every section filled, including hostile text. */
export function fullReport(): ReportData {
  const samples = [];
  const vms = ['web1', 'web2', 'batch'];
  for (let t = 0; t <= 2000; t += 100) {
    for (const [i, vm] of vms.entries()) {
      const pressure = Math.min(1, t / 1200);
      samples.push({
        t,
        vm,
        residentMiB: 40 + i * 30 + 120 * Math.min(1, t / 800) - 40 * pressure,
        balloonMiB: 30 * pressure * (i + 1) / 2,
        swappedMiB: t > 1500 ? 8 * i : 0,
        sharedMiB: 25 * Math.min(1, t / 600),
      });
    }
  }
  return {
    title: 'terracloak demo <script>alert(1)</script>',
    subtitle: 'all mechanisms',
    seed: 5,
    generator: 'terracloak test',
    summary: [
      { label: 'attacks stopped', value: '4 / 4', status: 'ok' },
      { label: 'memory reclaimed (MiB)', value: 182.5 },
      { label: 'dedup saved', value: '71%', status: 'warn' },
    ],
    memory: {
      samples,
      states: [
        { from: 0, to: 700, state: 'high' },
        { from: 700, to: 1100, state: 'soft' },
        { from: 1100, to: 1500, state: 'hard' },
        { from: 1500, to: 2000, state: 'low' },
      ],
      machineMiB: 512,
    },
    interrupts: [
      { cif: 1, interruptsPerCompletion: 1, addedLatencyUs: 0, vic: false },
      { cif: 1, interruptsPerCompletion: 1, addedLatencyUs: 0, vic: true },
      { cif: 4, interruptsPerCompletion: 1, addedLatencyUs: 0, vic: false },
      { cif: 4, interruptsPerCompletion: 0.27, addedLatencyUs: 18.5, vic: true },
      { cif: 8, interruptsPerCompletion: 1, addedLatencyUs: 0, vic: false },
      { cif: 8, interruptsPerCompletion: 0.14, addedLatencyUs: 41, vic: true },
    ],
    dedup: [
      { label: 'desk1', logicalMiB: 64, uniqueMiB: 64 },
      { label: 'desk2', logicalMiB: 64, uniqueMiB: 9 },
      { label: 'desk3', logicalMiB: 64, uniqueMiB: 8.5 },
    ],
    attacks: [
      { id: 'CLK-01', area: 'CLK', attack: 'kernel reads a cloaked page', expected: 'ciphertext only', outcome: 'blocked', detail: 'kernel view = ciphertext' },
      { id: 'CLK-02', area: 'CLK', attack: 'bit flip', expected: 'CLOAK_MAC', outcome: 'detected', detail: '<img src=x onerror=alert(1)> & "quotes" \'single\'' },
      { id: 'CLK-03', area: 'CLK', attack: 'replay', expected: 'CLOAK_REPLAY', outcome: 'detected', detail: '</table><script>document.title="pwned"</script>' },
      { id: 'ISO-01', area: 'ISO', attack: 'mgmt reads closed-box memory', expected: 'refused', outcome: 'LEAKED', detail: 'x\u0000y\u2028z' },
    ],
    attestation: {
      verified: true,
      subject: 'vm game (closed-box)',
      checks: [
        { name: 'certificate chain', ok: true, detail: 'root → TVMM → VM' },
        { name: 'measurement matches policy', ok: true },
        { name: 'freshness (nonce)', ok: true, detail: 'nonce 9f…' },
      ],
    },
    trace: { events: 12345, digest: 'ab'.repeat(32) },
    notes: ['virtual time is comparable to the papers; wall time is ours', '<b>not bold</b>'],
  };
}
