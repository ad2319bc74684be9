import type { ComponentChildren } from "preact";
import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import type { Sort } from "../lib/urlstate";

export interface Column<T> {
  key: string;
  label: string;
  width?: number;
  align?: "left" | "right";
  sortable?: boolean;
  render: (row: T) => ComponentChildren;
}

export interface VirtualTableProps<T extends { id: number | string }> {
  rows: readonly T[];
  columns: Column<T>[];
  label: string;
  rowHeight?: number;
  height?: number;
  sort?: Sort;
  onSort?: (field: string) => void;
  onOpen?: (row: T) => void;
  selected?: ReadonlySet<T["id"]>;
  onToggle?: (row: T) => void;
  testId?: string;
  onRendered?: () => void;
}

const OVERSCAN = 8;

/**
 * A table that renders only the rows in view (plus a margin), so 10,000 rows scroll as
 * smoothly as 10. Keyboard: focus the body, then ↑/↓/PgUp/PgDn/Home/End move, Enter opens,
 * Space selects; sortable headers are buttons.
 */
export function VirtualTable<T extends { id: number | string }>(props: VirtualTableProps<T>) {
  const { rows, columns, label, rowHeight = 30, height = 420, sort, onSort, onOpen, selected,
          onToggle, testId, onRendered } = props;
  const body = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [active, setActive] = useState(0);
  const idPrefix = useRef(`vt${Math.random().toString(36).slice(2, 8)}`).current;

  const total = rows.length;
  const first = Math.max(0, Math.floor(scrollTop / rowHeight) - OVERSCAN);
  const last = Math.min(total, Math.ceil((scrollTop + height) / rowHeight) + OVERSCAN);
  const visible = rows.slice(first, last);

  useLayoutEffect(() => {
    onRendered?.();
  }, [rows, onRendered]);

  useEffect(() => {
    if (active >= total) setActive(Math.max(0, total - 1));
  }, [total, active]);

  function moveTo(index: number): void {
    const i = Math.max(0, Math.min(total - 1, index));
    setActive(i);
    const el = body.current;
    if (!el) return;
    const top = i * rowHeight;
    if (top < el.scrollTop) el.scrollTop = top;
    else if (top + rowHeight > el.scrollTop + el.clientHeight) {
      el.scrollTop = top + rowHeight - el.clientHeight;
    }
  }

  function onKeyDown(event: KeyboardEvent): void {
    const page = Math.max(1, Math.floor(height / rowHeight) - 1);
    const moves: Record<string, number> = {
      ArrowDown: active + 1, ArrowUp: active - 1, PageDown: active + page,
      PageUp: active - page, Home: 0, End: total - 1 };
    const target = moves[event.key];
    if (target !== undefined) {
      event.preventDefault();
      moveTo(target);
    } else if (event.key === "Enter" && rows[active]) {
      event.preventDefault();
      onOpen?.(rows[active]!);
    } else if (event.key === " " && rows[active] && onToggle) {
      event.preventDefault();
      onToggle(rows[active]!);
    }
  }

  const colgroup = (
    <colgroup>
      {onToggle && <col style={{ width: "36px" }} />}
      {columns.map((c) => <col key={c.key} style={c.width ? { width: `${c.width}px` } : {}} />)}
    </colgroup>
  );

  return (
    <div class="vtable" data-testid={testId} data-rows={total}>
      <div class="vhead">
      <table class="grid head" role="presentation">
        {colgroup}
        <thead>
          <tr>
            {onToggle && <th scope="col"><span class="sr-only">selected</span></th>}
            {columns.map((c) => {
              const sorted = sort?.field === c.key;
              const ariaSort = sorted ? (sort!.desc ? "descending" : "ascending") : "none";
              return (
                <th key={c.key} scope="col" aria-sort={ariaSort}
                    class={c.align === "right" ? "num" : ""}>
                  {c.sortable !== false && onSort ? (
                    <button type="button" class="sort" onClick={() => onSort(c.key)}
                            title={`sort by ${c.label}`}>
                      {c.label}
                      <span aria-hidden="true">{sorted ? (sort!.desc ? " ▼" : " ▲") : ""}</span>
                    </button>
                  ) : c.label}
                </th>
              );
            })}
          </tr>
        </thead>
      </table>
      </div>
      <div class="vbody" ref={body} style={{ height: `${Math.min(height, total * rowHeight + 2)}px` }}
           tabIndex={0} role="grid" aria-label={label} aria-rowcount={total}
           aria-activedescendant={total ? `${idPrefix}-${active}` : undefined}
           onScroll={(e) => setScrollTop((e.currentTarget as HTMLDivElement).scrollTop)}
           onKeyDown={onKeyDown}>
        <table class="grid" role="presentation">
          {colgroup}
          <tbody>
            {first > 0 && <tr style={{ height: `${first * rowHeight}px` }} aria-hidden="true" />}
            {visible.map((row, k) => {
              const index = first + k;
              const isSelected = selected?.has(row.id) ?? false;
              return (
                <tr key={row.id} id={`${idPrefix}-${index}`} role="row"
                    aria-rowindex={index + 1} aria-selected={isSelected}
                    class={`${index === active ? "active" : ""} ${isSelected ? "selected" : ""}`}
                    style={{ height: `${rowHeight}px` }}
                    onClick={() => setActive(index)}
                    onDblClick={() => onOpen?.(row)}>
                  {onToggle && (
                    <td role="gridcell">
                      <input type="checkbox" checked={isSelected} tabIndex={-1}
                             aria-label={`select ${String(row.id)}`}
                             onChange={() => onToggle(row)} />
                    </td>
                  )}
                  {columns.map((c) => (
                    <td key={c.key} role="gridcell" class={c.align === "right" ? "num" : ""}>
                      {c.render(row)}
                    </td>
                  ))}
                </tr>
              );
            })}
            {last < total && (
              <tr style={{ height: `${(total - last) * rowHeight}px` }} aria-hidden="true" />
            )}
          </tbody>
        </table>
      </div>
      {total === 0 && <p class="empty">No rows.</p>}
    </div>
  );
}
