using System.Numerics;

namespace Molly.Ledger;

/// <summary>The result of one command, as TigerBeetle's create_transfers results: <see cref="Ok"/> or the precise reason
/// nothing was written. In a linked batch the failing command carries its reason and every other one <see cref="LinkedEventFailed"/>.</summary>
public enum TransferResult
{
    Ok = 0,
    LinkedEventFailed,
    LinkedBatchTooLarge,
    LinkedBatchHasDuplicateId,

    // Idempotency: the id exists already.
    Exists,
    ExistsWithDifferentKind,
    ExistsWithDifferentDebitAccount,
    ExistsWithDifferentCreditAccount,
    ExistsWithDifferentAmount,
    ExistsWithDifferentAsset,
    ExistsWithDifferentCode,
    ExistsWithDifferentUserData,
    ExistsWithDifferentTimeout,
    ExistsWithDifferentPendingId,

    // Bad input.
    AccountsMustBeDifferent,
    AmountMustNotBeZero,
    AmountMustNotBeNegative,
    AmountTooLarge,
    CodeMustNotBeZero,
    UserDataTooLong,
    TimeoutReservedForPendingTransfer,
    TimeoutMustBePositive,
    DebitAccountNotFound,
    CreditAccountNotFound,
    AccountsMustHaveTheSameAsset,
    TransferMustHaveTheSameAssetAsAccounts,

    // Two-phase.
    PendingTransferNotFound,
    PendingTransferNotPending,
    PendingTransferAlreadyPosted,
    PendingTransferAlreadyVoided,
    PendingTransferExpired,
    ExceedsPendingTransferAmount,

    // Balance limits.
    ExceedsCredits,
    ExceedsDebits,
}

public enum AccountResult { Ok, Exists, ExistsWithDifferentFlags, ExistsWithDifferentShards, ShardsOutOfRange, ShardedAccountMayHaveOneLimit }

public enum TransferKind { SinglePhase, Pending, PostPending, VoidPending }

public enum PendingState { None, Pending, Posted, Voided, Expired }

/// <summary>A command of a batch: create a transfer (single-phase or pending), post a pending transfer, or void one.
/// <see cref="Id"/> is the idempotency key.</summary>
public abstract record TransferCommand(TransferId Id, string? UserData);

/// <summary>Moves <paramref name="Amount"/> from <paramref name="Debit"/> to <paramref name="Credit"/>; with <paramref name="Pending"/>
/// it only reserves it (debits_pending/credits_pending) until posted, voided or, after <paramref name="Timeout"/>, expired.</summary>
public sealed record CreateTransfer(
    TransferId Id,
    AccountId Debit,
    AccountId Credit,
    BigInteger Amount,
    string Asset,
    ushort Code,
    string? UserData = null,
    bool Pending = false,
    TimeSpan? Timeout = null) : TransferCommand(Id, UserData);

/// <summary>Posts a pending transfer: all of it (<paramref name="Amount"/> null) or part of it, releasing the rest.</summary>
public sealed record PostPending(TransferId Id, TransferId PendingId, BigInteger? Amount = null, string? UserData = null)
    : TransferCommand(Id, UserData);

/// <summary>Voids a pending transfer, releasing its whole reservation.</summary>
public sealed record VoidPending(TransferId Id, TransferId PendingId, string? UserData = null) : TransferCommand(Id, UserData);

/// <summary>A stored transfer (immutable except for the <see cref="State"/> of a pending one).</summary>
public sealed record Transfer(
    TransferId Id,
    TransferKind Kind,
    AccountId Debit,
    AccountId Credit,
    BigInteger Amount,
    string Asset,
    ushort Code,
    string? UserData,
    DateTimeOffset Timestamp,
    TransferId? PendingId,
    TimeSpan? Timeout,
    DateTimeOffset? ExpiresAt,
    PendingState State,
    BigInteger? RequestedAmount,
    int DebitShard,
    int CreditShard);

/// <summary>An account's balances, summed over its shards.</summary>
public sealed record Balance(AccountId Account, BigInteger DebitsPending, BigInteger DebitsPosted, BigInteger CreditsPending, BigInteger CreditsPosted)
{
    /// <summary>credits_posted - debits_posted (what a credit-normal account holds).</summary>
    public BigInteger CreditBalance => CreditsPosted - DebitsPosted;

    /// <summary>credits_posted - debits_posted - debits_pending (what a credit-normal account can still spend).</summary>
    public BigInteger AvailableCredit => CreditsPosted - DebitsPosted - DebitsPending;
}

public sealed record Account(AccountId Id, AccountFlags Flags, int Shards, DateTimeOffset CreatedAt);

/// <summary>Commands racing on the same items kept failing for the whole retry budget; nothing of the command was written
/// and it may be retried as is.</summary>
public sealed class LedgerContentionException(string message, Exception? inner = null) : Exception(message, inner);
