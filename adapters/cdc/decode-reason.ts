/**
 * Decode errors as one line a human can act on when reading the quarantine queue, e.g.
 * `data.event_type: expected string, got null`. The path names the offending field of the
 * decoded value. The formatter is the domain's (domain/validation.ts), the one the
 * dead-letter reasons use too, so the same bad input reads the same in the quarantine and
 * in a dead-letter queue.
 */
export { preview, reasonOf } from "../../domain/validation";
