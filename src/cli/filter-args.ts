// The client side of Docker's `filters` query parameter (docker/docker api/types/filters.Args and
// docker/cli opts.FilterOpt): `-f key=value` flags collected into `{"key":{"value":true}}`, with keys
// sorted as Go's json.Marshal writes maps.

export class FilterArgs {
  private readonly fields = new Map<string, Set<string>>();

  constructor(init?: Record<string, readonly string[]>) {
    for (const [k, vs] of Object.entries(init ?? {})) for (const v of vs) this.add(k, v);
  }

  add(key: string, value: string): this {
    let set = this.fields.get(key);
    if (!set) this.fields.set(key, (set = new Set()));
    set.add(value);
    return this;
  }

  del(key: string, value: string): void {
    const set = this.fields.get(key);
    if (!set) return;
    set.delete(value);
    if (set.size === 0) this.fields.delete(key);
  }

  get(key: string): string[] {
    return [...(this.fields.get(key) ?? [])];
  }

  contains(key: string): boolean {
    return this.fields.has(key);
  }

  get size(): number {
    return this.fields.size;
  }

  clone(): FilterArgs {
    const copy = new FilterArgs();
    for (const [k, vs] of this.fields) for (const v of vs) copy.add(k, v);
    return copy;
  }

  /** filters.ToJSON: '' when empty, else the JSON with sorted keys at both levels. */
  toJSON(): string {
    if (this.fields.size === 0) return '';
    const keys = [...this.fields.keys()].sort();
    const parts = keys.map((k) => {
      const values = [...this.fields.get(k)!].sort();
      return `${JSON.stringify(k)}:{${values.map((v) => `${JSON.stringify(v)}:true`).join(',')}}`;
    });
    return `{${parts.join(',')}}`;
  }

  /**
   * opts.FilterOpt.Set: one `-f name=value` flag. The name is trimmed and lower-cased, the value
   * trimmed; a value without `=` is Docker's "bad format" error. An empty flag is ignored.
   */
  addFlag(raw: string): this {
    if (raw === '') return this;
    const eq = raw.indexOf('=');
    if (eq < 0) throw new Error('bad format of filter (expected name=value)');
    this.add(raw.slice(0, eq).trim().toLowerCase(), raw.slice(eq + 1).trim());
    return this;
  }
}
