/**
 * The account class of the bank example, in a module of its own: a worker node imports the
 * class from the module it is defined in, so this file has no side effects (main.ts does the
 * running).
 */
import { type Active, Checkpoint, Group, MemberOf, ThreadConfig } from 'multiactive';

export interface Statement {
  readonly name: string;
  readonly balance: number;
  /** Every transfer applied here, in order: `-<id>` for a withdrawal, `+<id>` for a deposit. */
  readonly ledger: readonly string[];
}

/**
 * A bank account that lives on a worker node and checkpoints itself every 5 requests (to the
 * default FileStore, `$MULTIACTIVE_CHECKPOINT_DIR`). If its worker dies, the main thread
 * creates it again on a fresh worker from its last checkpoint and replays the calls it got
 * since: none is lost, none is applied twice (docs/fault-tolerance.md).
 *
 * Every method is in one self-compatible group under a soft limit: a transfer that awaits the
 * deposit on the other account waits by necessity and frees its slot, so transfers in both
 * directions between two accounts never wait for each other. Check-and-withdraw and deposit
 * are synchronous (no `await` inside), so overlapping requests never see half of one another.
 */
@Checkpoint({ everyRequests: 5 })
@Group('money', { selfCompatible: true })
@ThreadConfig({ threadPoolSize: 4 })
export class Account {
  readonly name: string;
  balance: number;
  ledger: string[] = [];

  constructor(name: string, initial: number) {
    this.name = name;
    this.balance = initial;
  }

  /** Withdraw here, then await the deposit on `to` (another node). False if funds are short. */
  @MemberOf('money') async transfer(id: string, to: Active<Account>, amount: number): Promise<boolean> {
    if (this.balance < amount) return false;
    this.balance -= amount;
    this.ledger.push(`-${id}`);
    await to.deposit(id, amount); // a call a replay of this request would make again: answered once
    return true;
  }

  @MemberOf('money') deposit(id: string, amount: number): void {
    this.balance += amount;
    this.ledger.push(`+${id}`);
  }

  @MemberOf('money') statement(): Statement {
    return { name: this.name, balance: this.balance, ledger: this.ledger };
  }
}
