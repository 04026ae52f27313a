// The Teach page's drawings and classes, kept in this browser's IndexedDB until the user clears
// them: a reload (or a closed tab) loses nothing. Drawings are stored preprocessed, (28, 28) u8 as
// the model sees them, with their class name and whether they are held out for testing.
const DB_NAME = 'mnist-lab-teach';
const DB_VERSION = 1;
const DRAWINGS = 'drawings';
const SETTINGS = 'settings';

export interface Drawing {
  /** Assigned by the store. */
  id: number;
  className: string;
  /** (28, 28) u8, white on black. */
  image: Uint8Array;
  /** Kept out of training: the user's own test set. */
  heldOut: boolean;
}

function promised<T>(request: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error ?? new Error('IndexedDB request failed'));
  });
}

function done(transaction: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    transaction.oncomplete = () => resolve();
    transaction.onerror = () => reject(transaction.error ?? new Error('IndexedDB transaction failed'));
    transaction.onabort = () => reject(transaction.error ?? new Error('IndexedDB transaction aborted'));
  });
}

export class DrawingStore {
  private constructor(private readonly db: IDBDatabase) {}

  static async open(): Promise<DrawingStore> {
    const request = indexedDB.open(DB_NAME, DB_VERSION);
    request.onupgradeneeded = () => {
      const db = request.result;
      if (!db.objectStoreNames.contains(DRAWINGS))
        db.createObjectStore(DRAWINGS, { keyPath: 'id', autoIncrement: true });
      if (!db.objectStoreNames.contains(SETTINGS)) db.createObjectStore(SETTINGS);
    };
    return new DrawingStore(await promised(request));
  }

  async drawings(): Promise<Drawing[]> {
    const store = this.db.transaction(DRAWINGS).objectStore(DRAWINGS);
    return promised(store.getAll() as IDBRequest<Drawing[]>);
  }

  async add(drawing: Omit<Drawing, 'id'>): Promise<Drawing> {
    const transaction = this.db.transaction(DRAWINGS, 'readwrite');
    const id = (await promised(transaction.objectStore(DRAWINGS).add(drawing))) as number;
    await done(transaction);
    return { ...drawing, id };
  }

  async put(drawing: Drawing): Promise<void> {
    const transaction = this.db.transaction(DRAWINGS, 'readwrite');
    transaction.objectStore(DRAWINGS).put(drawing);
    await done(transaction);
  }

  async remove(ids: readonly number[]): Promise<void> {
    const transaction = this.db.transaction(DRAWINGS, 'readwrite');
    for (const id of ids) transaction.objectStore(DRAWINGS).delete(id);
    await done(transaction);
  }

  async classes(): Promise<string[] | undefined> {
    const store = this.db.transaction(SETTINGS).objectStore(SETTINGS);
    return promised(store.get('classes') as IDBRequest<string[] | undefined>);
  }

  async setClasses(classes: readonly string[]): Promise<void> {
    const transaction = this.db.transaction(SETTINGS, 'readwrite');
    transaction.objectStore(SETTINGS).put([...classes], 'classes');
    await done(transaction);
  }

  /** Every drawing and class gone. */
  async clear(): Promise<void> {
    const transaction = this.db.transaction([DRAWINGS, SETTINGS], 'readwrite');
    transaction.objectStore(DRAWINGS).clear();
    transaction.objectStore(SETTINGS).clear();
    await done(transaction);
  }
}
