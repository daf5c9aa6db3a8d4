// The part of node:sqlite the Deno layer uses: the project's @types/node 20 predates the module.
declare module "node:sqlite" {
  export type SQLInputValue = null | number | bigint | string | NodeJS.ArrayBufferView
  export type SQLOutputValue = null | number | bigint | string | Uint8Array

  export interface DatabaseSyncOptions {
    readonly open?: boolean | undefined
    readonly readOnly?: boolean | undefined
    readonly enableForeignKeyConstraints?: boolean | undefined
    readonly timeout?: number | undefined
  }

  export interface StatementResultingChanges {
    changes: number | bigint
    lastInsertRowid: number | bigint
  }

  export interface StatementColumnMetadata {
    name: string
    column: string | null
    database: string | null
    table: string | null
    type: string | null
  }

  export class StatementSync {
    private constructor()
    all(...anonymousParameters: Array<SQLInputValue>): Array<Record<string, SQLOutputValue>>
    get(...anonymousParameters: Array<SQLInputValue>): Record<string, SQLOutputValue> | undefined
    run(...anonymousParameters: Array<SQLInputValue>): StatementResultingChanges
    columns(): Array<StatementColumnMetadata>
    setReadBigInts(enabled: boolean): void
    setReturnArrays(enabled: boolean): void
    readonly sourceSQL: string
  }

  export class DatabaseSync {
    constructor(path: string, options?: DatabaseSyncOptions)
    readonly isOpen: boolean
    exec(sql: string): void
    prepare(sql: string): StatementSync
    close(): void
  }
}
