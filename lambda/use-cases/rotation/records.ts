/**
 * What a rotation remembers between its steps, in the state store: the rollout plan (batches, canary
 * first) and one record per target. Both drivers read and write the same records, so the decision after
 * each batch, the rollback and the outcome event are made from the same facts, and a driver that dies
 * leaves behind exactly what `repair` (or the next run) needs to finish or undo the rotation.
 */
import type { StateStore } from '../../domain/ports';
import { type TargetRecord, type TargetRef, targetKey } from '../../domain/rotation/rollout';

export const ROTATION_TARGETS_COLLECTION = 'rotation-targets';
export const ROTATION_PLANS_COLLECTION = 'rotation-plans';

export interface RotationPlan {
  readonly batches: readonly (readonly TargetRef[])[];
  readonly createdAt: string;
}

const prefixOf = (name: string, version: string) => `${name}#${version}#`;
const recordId = (name: string, version: string, t: TargetRef) =>
  `${prefixOf(name, version)}${t.destination}#${t.target}`;

export async function readPlan(
  state: StateStore,
  name: string,
  version: string,
  now: Date,
): Promise<RotationPlan | undefined> {
  return (await state.get<RotationPlan>(ROTATION_PLANS_COLLECTION, `${name}#${version}`, now))?.value;
}

export async function writePlan(
  state: StateStore,
  name: string,
  version: string,
  plan: RotationPlan,
  now: Date,
): Promise<void> {
  await state.put(ROTATION_PLANS_COLLECTION, `${name}#${version}`, plan, now);
}

export async function readTargetRecords(
  state: StateStore,
  name: string,
  version: string,
  now: Date,
): Promise<Map<string, TargetRecord>> {
  const items = await state.list<TargetRecord>(ROTATION_TARGETS_COLLECTION, now, prefixOf(name, version));
  return new Map(items.map(({ value }) => [targetKey(value), value]));
}

export async function writeTargetRecord(
  state: StateStore,
  name: string,
  version: string,
  record: TargetRecord,
  now: Date,
): Promise<void> {
  const value: TargetRecord = {
    destination: record.destination,
    target: record.target,
    state: record.state,
    ...(record.error ? { error: record.error.slice(0, 1000) } : {}),
    ...(record.failedAt ? { failedAt: record.failedAt } : {}),
    ...(record.fingerprintSha256 ? { fingerprintSha256: record.fingerprintSha256 } : {}),
    ...(record.verifiedNew ? { verifiedNew: true } : {}),
  };
  await state.put(ROTATION_TARGETS_COLLECTION, recordId(name, version, record), value, now);
}

/** Forgets targets that failed, so that a resumed rotation tries them again. */
export async function forgetFailedTargets(
  state: StateStore,
  name: string,
  version: string,
  now: Date,
): Promise<void> {
  const items = await state.list<TargetRecord>(ROTATION_TARGETS_COLLECTION, now, prefixOf(name, version));
  for (const { id, value } of items)
    if (value.state === 'failed') await state.delete(ROTATION_TARGETS_COLLECTION, id);
}

/** Forgets a finished rotation's plan and target records. */
export async function clearRotationRecords(
  state: StateStore,
  name: string,
  version: string,
  now: Date,
): Promise<void> {
  const items = await state.list(ROTATION_TARGETS_COLLECTION, now, prefixOf(name, version));
  // A few at a time (hundreds of targets): the records are independent; the plan goes last.
  let next = 0;
  const worker = async () => {
    while (next < items.length) await state.delete(ROTATION_TARGETS_COLLECTION, items[next++]!.id);
  };
  await Promise.all(Array.from({ length: Math.min(16, items.length) }, worker));
  await state.delete(ROTATION_PLANS_COLLECTION, `${name}#${version}`);
}
