/** Who holds a rotation lock: enough for a refusal to name it and for a run on the same host to see it died. */
export interface LockHolder {
  readonly host: string;
  readonly pid: number;
  readonly command: string;
}
