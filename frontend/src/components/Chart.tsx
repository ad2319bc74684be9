import { useEffect, useRef } from "preact/hooks";
import { type ChartOption, echarts } from "../lib/echarts";

export interface ChartProps {
  option: ChartOption;
  height?: number;
  label: string;
  testId?: string;
  /** extra data-* attributes (e.g. the number of points drawn, for tests) */
  data?: Record<string, string | number>;
  onClick?: (params: { seriesId?: string; dataIndex: number; data: unknown }) => void;
  onFinished?: () => void;
  /** the first dataZoom's window after the user zoomed, in percent of the data extent */
  onZoom?: (start: number, end: number) => void;
}

/** One ECharts instance; the option replaces the previous one on every change. */
export function Chart({ option, height = 320, label, testId, data, onClick, onFinished,
                       onZoom }: ChartProps) {
  const el = useRef<HTMLDivElement>(null);
  const chart = useRef<echarts.ECharts | null>(null);
  const handlers = useRef({ onClick, onFinished, onZoom });
  handlers.current = { onClick, onFinished, onZoom };

  useEffect(() => {
    const instance = echarts.init(el.current!, undefined, { renderer: "canvas" });
    chart.current = instance;
    // For the browser tests: find a point's pixel position (convertToPixel) to hover/click it.
    (el.current as HTMLDivElement & { __chart?: unknown }).__chart = instance;
    instance.on("click", (p) => handlers.current.onClick?.(p as never));
    instance.on("finished", () => handlers.current.onFinished?.());
    instance.on("datazoom", () => {
      const zoom = (instance.getOption() as { dataZoom?: { start?: number; end?: number }[] })
        .dataZoom?.[0];
      if (zoom) handlers.current.onZoom?.(zoom.start ?? 0, zoom.end ?? 100);
    });
    const observer = new ResizeObserver(() => instance.resize());
    observer.observe(el.current!);
    return () => {
      observer.disconnect();
      instance.dispose();
      chart.current = null;
    };
  }, []);

  useEffect(() => {
    chart.current?.setOption(option, { notMerge: true, lazyUpdate: false });
  }, [option]);

  const attrs: Record<string, string> = {};
  for (const [k, v] of Object.entries(data ?? {})) attrs[`data-${k}`] = String(v);
  return (
    <div class="chart" ref={el} style={{ height: `${height}px` }} role="img" aria-label={label}
         data-testid={testId} {...attrs} />
  );
}
