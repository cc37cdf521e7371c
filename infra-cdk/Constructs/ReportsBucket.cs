using Amazon.CDK;
using Amazon.CDK.AWS.S3;
using Constructs;

namespace Molly.Infra.Constructs;

public sealed class ReportsBucketProps
{
    public required RemovalPolicy RemovalPolicy { get; init; }
}

/// <summary>Daily reconciliation reports and audit archives: private, TLS only, versioned, tiered to cheaper storage with age.</summary>
public sealed class ReportsBucket : Construct
{
    public Bucket Bucket { get; }

    public ReportsBucket(Construct scope, string id, ReportsBucketProps props) : base(scope, id)
    {
        Bucket = new Bucket(this, "Bucket", new BucketProps
        {
            Encryption = BucketEncryption.S3_MANAGED,
            BlockPublicAccess = BlockPublicAccess.BLOCK_ALL,
            EnforceSSL = true,
            Versioned = true,
            ObjectOwnership = ObjectOwnership.BUCKET_OWNER_ENFORCED,
            RemovalPolicy = props.RemovalPolicy,
            LifecycleRules =
            [
                new LifecycleRule
                {
                    Id = "tier-and-expire-old-versions",
                    Transitions =
                    [
                        new Transition { StorageClass = StorageClass.INFREQUENT_ACCESS, TransitionAfter = Duration.Days(30) },
                        new Transition { StorageClass = StorageClass.GLACIER_INSTANT_RETRIEVAL, TransitionAfter = Duration.Days(180) },
                    ],
                    NoncurrentVersionExpiration = Duration.Days(90),
                    AbortIncompleteMultipartUploadAfter = Duration.Days(7),
                },
            ],
        });
    }
}
