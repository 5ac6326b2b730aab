/**
 * certrotor's own health metrics that an alarm watches across jobs.
 *
 * `ScanProblems`: one count of everything a scheduled job completed without, whichever job it is — a
 * source the inventory could not read or an endpoint the probe could not reach (scan jobs: inventory,
 * probe, ACM expiry event), an upstream the watch could not check, a rotation the planner could not
 * start. Emitted only when not zero (a metric is billed for each hour it receives data); one metric so
 * that the alarm on it is one alarm metric ($0.10 a month) instead of one per job. The logs name each
 * problem ("scan problem", "upstream watch problem", "rotation plan").
 */
export const SCAN_PROBLEMS_METRIC = 'ScanProblems';
