using Molly.Workflows;

namespace Molly.Settlement;

/// <summary>
/// A task handler's failure, named as the workflow sees it (the ASL's Retry/Catch match <see cref="ErrorName"/>):
/// <see cref="TransientTaskException"/> is retried with backoff, <see cref="PermanentTaskException"/> goes to the review path.
/// The engine (and the WorkflowTasks function) read the name and the cause from <see cref="WorkflowErrorException"/>; the cause
/// never carries a secret.
/// </summary>
public abstract class TaskFailedException(string errorName, string message, Exception? inner)
    : WorkflowErrorException(errorName, message, inner)
{
    public string ErrorName => Error;
}

/// <summary><c>Molly.Transient</c>: the node or the store did not answer, or lost a race; the same call later may succeed.</summary>
public sealed class TransientTaskException(string message, Exception? inner = null) : TaskFailedException(Name, message, inner)
{
    public const string Name = "Molly.Transient";
}

/// <summary><c>Molly.Permanent</c>: retrying cannot help (unknown deposit, a state the rules forbid, a refused ledger
/// transfer); an operator looks at it.</summary>
public sealed class PermanentTaskException(string message, Exception? inner = null) : TaskFailedException(Name, message, inner)
{
    public const string Name = "Molly.Permanent";
}
