// What a control loop tells an observer (the metrics, src/manager/metrics/): that a pass starts, and — by
// calling what the observer returned — that it ended, whether it wrote, did nothing or failed. The loop
// measures nothing itself and its pure core knows nothing of it.

/** Called as a pass starts; the function it returns is called once when that pass ends. */
export type PassObserver = () => () => void;
