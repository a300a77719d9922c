/** A fixed-capacity log: pushing onto a full ring drops the oldest item. */
export class Ring<T> {
  readonly #items: Array<T | undefined>;
  #start = 0;
  #size = 0;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`ring capacity ${capacity}`);
    this.#items = new Array<T | undefined>(capacity);
  }

  get size(): number {
    return this.#size;
  }

  push(item: T): void {
    const cap = this.#items.length;
    if (this.#size < cap) {
      this.#items[(this.#start + this.#size) % cap] = item;
      this.#size++;
    } else {
      this.#items[this.#start] = item;
      this.#start = (this.#start + 1) % cap;
    }
  }

  /** Oldest first. */
  *[Symbol.iterator](): IterableIterator<T> {
    const cap = this.#items.length;
    for (let i = 0; i < this.#size; i++) yield this.#items[(this.#start + i) % cap] as T;
  }
}
