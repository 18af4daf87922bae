// V8's garbage collector, set for the local runtime before anything else is loaded (main.ts
// imports this first). Every pause of a thread is lag: an event waits for it, and the
// old generation's collections, with their helper threads on both cores, were what stood
// out of the lag's tail (bench: each came with a cluster of events 20-40 ms late).
import { setFlagsFromString } from "node:v8";

// Without this, V8 decided under load that the API thread's per-request objects live long
// (many are in flight when a young collection comes) and allocated them straight in the old
// generation: 10 MB/s of it at 2700 orders/s, 1 MB/s with the flag, and so a full collection
// every few seconds. Nothing a request allocates outlives it.
setFlagsFromString("--no-allocation-site-pretenuring");

// Let the old generation grow to 3x what it kept (20 MB or so per thread) before the next
// full collection, instead of V8's own factor, which runs them more often the cheaper they
// look: at 2810 orders/s, the lag's p99 went from 12.0-12.7 ms to 5.8-8.3 ms. It costs some
// tens of MB.
setFlagsFromString("--heap-growing-percent=200");
