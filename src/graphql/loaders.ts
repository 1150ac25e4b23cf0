import type { EntityManager, EntityName } from '@mikro-orm/core';

/** Load entities by id in one query, in the order of `ids` (an Error for a missing one, as DataLoader wants). */
export async function loadByIds<T extends { id: string }>(em: EntityManager, entity: EntityName<T>, ids: readonly string[]) {
  const rows = await em.find(entity, { id: { $in: [...ids] } } as never);
  const byId = new Map(rows.map((r) => [(r as T).id, r as T]));
  return ids.map((id) => byId.get(id) ?? new Error(`${String(entity)} ${id} not found`));
}

