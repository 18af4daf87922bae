import { coresBetween, parseProcStat } from "../../bench/system/stats";

describe("the bench's reading of how busy the machine was (/proc/stat)", () => {
  // Two readings of a 2-CPU machine, 100 ticks a second, one second apart.
  const before = "cpu  1000 10 300 5000 40 5 15 20 0 0\ncpu0 500 5 150 2500 20 2 7 10 0 0\nintr 123\n";
  const after = "cpu  1090 10 330 5050 40 5 25 40 0 0\ncpu0 545 5 165 2530 20 2 12 20 0 0\nintr 456\n";

  it("counts user, nice, system, irq and softirq as busy, and steal apart", () => {
    expect(parseProcStat(before)).toEqual({ busy: 1330, steal: 20, total: 1330 + 20 + 5000 + 40 });
  });

  it("gives the cores busy and stolen on average between two readings", () => {
    // 200 ticks passed: 130 busy, 20 stolen, 50 idle, on 2 CPUs.
    const cores = coresBetween(parseProcStat(before), parseProcStat(after), 2);
    expect(cores?.busy).toBeCloseTo(1.3, 10);
    expect(cores?.steal).toBeCloseTo(0.2, 10);
  });

  it("says nothing rather than a wrong figure", () => {
    expect(parseProcStat("")).toBeNull();
    expect(parseProcStat("cpu0 1 2 3 4 5 6 7 8\n")).toBeNull();
    expect(parseProcStat("cpu  1 2 3 4 5 6\n")).toBeNull();
    expect(parseProcStat("cpu  1 2 x 4 5 6 7 8\n")).toBeNull();
    expect(coresBetween(parseProcStat(after), parseProcStat(before), 2)).toBeNull();
    expect(coresBetween(null, parseProcStat(after), 2)).toBeNull();
  });
});
