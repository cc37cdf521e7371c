using System.Text;
using Amazon.Runtime;
using Molly.Storage.DynamoDb.Streams;
using Xunit;

namespace Molly.Storage.Tests.DynamoDb;

public sealed class SigV4Tests
{
    // AWS Signature Version 4 test suite, case "post-vanilla": POST / to example.amazonaws.com, empty body,
    // credentials AKIDEXAMPLE / wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY, 2015-08-30T12:36:00Z, us-east-1, service "service".
    private const string SuiteSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    private static readonly DateTimeOffset SuiteTime = new(2015, 8, 30, 12, 36, 0, TimeSpan.Zero);

    [Fact]
    public void Post_vanilla_matches_the_official_signature()
    {
        var headers = SigV4.Sign("POST", "/", "example.amazonaws.com", [], [], "us-east-1", "service",
            new SigV4.Credentials("AKIDEXAMPLE", SuiteSecret, null), SuiteTime);

        var authorization = Assert.Single(headers, h => h.Key == "authorization").Value;
        Assert.Equal(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, " +
            "Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b", authorization);
        Assert.Equal("20150830T123600Z", Assert.Single(headers, h => h.Key == "x-amz-date").Value);
    }

    [Fact]
    public void Body_and_target_are_signed()
    {
        var creds = new SigV4.Credentials("AKIDEXAMPLE", SuiteSecret, null);
        string Sig(string body, string target) => SigV4.Sign("POST", "/", "h", [new("x-amz-target", target)], Encoding.UTF8.GetBytes(body),
            "us-east-1", "dynamodb", creds, SuiteTime).Single(h => h.Key == "authorization").Value;

        Assert.NotEqual(Sig("{}", "DynamoDBStreams_20120810.GetRecords"), Sig("{ }", "DynamoDBStreams_20120810.GetRecords"));
        Assert.NotEqual(Sig("{}", "DynamoDBStreams_20120810.GetRecords"), Sig("{}", "DynamoDBStreams_20120810.DescribeStream"));
        Assert.Contains("SignedHeaders=host;x-amz-date;x-amz-target,", Sig("{}", "DynamoDBStreams_20120810.GetRecords"));
    }

    [Fact]
    public async Task Streams_request_has_target_content_type_authorization_and_session_token()
    {
        var client = new DynamoDbStreamsClient(new HttpClient(), new Uri("http://127.0.0.1:8000/"), "eu-west-1",
            new SessionAWSCredentials("AKIDEXAMPLE", SuiteSecret, "token-123"), new FixedTime(SuiteTime));

        using var request = await client.CreateRequestAsync("GetRecords", "{\"ShardIterator\":\"x\",\"Limit\":1}"u8.ToArray(), default);

        Assert.Equal(HttpMethod.Post, request.Method);
        Assert.Equal("/", request.RequestUri!.AbsolutePath);
        Assert.Equal("DynamoDBStreams_20120810.GetRecords", Assert.Single(request.Headers.GetValues("x-amz-target")));
        Assert.Equal("application/x-amz-json-1.0", request.Content!.Headers.ContentType!.MediaType);
        Assert.Equal("token-123", Assert.Single(request.Headers.GetValues("x-amz-security-token")));
        var authorization = Assert.Single(request.Headers.GetValues("Authorization"));
        Assert.StartsWith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/eu-west-1/dynamodb/aws4_request, " +
                          "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target, Signature=", authorization);
        Assert.Matches("Signature=[0-9a-f]{64}$", authorization);
        Assert.DoesNotContain(SuiteSecret, authorization);
    }

    private sealed class FixedTime(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
