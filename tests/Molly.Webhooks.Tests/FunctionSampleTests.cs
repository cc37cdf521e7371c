using System.Text.Json;
using Molly.Functions.WebhookDispatcher;
using Xunit;

namespace Molly.Webhooks.Tests;

/// <summary>events-samples/webhook-dispatcher/*.json replayed through the function's entry point.</summary>
public sealed class FunctionSampleTests : IAsyncLifetime
{
    private Testbed _bed = null!;
    private Function _function = null!;
    private readonly StringWriter _log = new();

    public async Task InitializeAsync()
    {
        _bed = await Testbed.CreateAsync("Sqlite");
        _function = new Function(Function.Create(_bed.Store, _bed.Protector, _bed.Options, _bed.Clock, _log, _bed.Guard));
    }

    public async Task DisposeAsync() => await _bed.DisposeAsync();

    private static Stream Sample(string name) => File.OpenRead(Path.Combine(AppContext.BaseDirectory, "events-samples", "webhook-dispatcher", name));

    [Fact]
    public async Task A_stream_batch_fans_out_and_sends_its_good_records_and_reports_only_the_poison_one()
    {
        await _bed.AddEndpointAsync();
        using var answer = JsonDocument.Parse(await _function.Handle(Sample("stream-batch.json")));
        var failures = answer.RootElement.GetProperty("batchItemFailures").EnumerateArray()
            .Select(f => f.GetProperty("itemIdentifier").GetString()).ToList();
        Assert.Equal(["100000000000000000002"], failures);
        Assert.Contains("100000000000000000002", _log.ToString());
        Assert.DoesNotContain("this is not json", _log.ToString());

        // The records after the poison one were processed: both payment events were delivered, nothing else.
        var types = _bed.Receiver.Received.Select(r => JsonDocument.Parse(r.Body).RootElement.GetProperty("type").GetString()).Order().ToList();
        Assert.Equal(["payment.created", "payment.paid"], types);
        Assert.Contains(_bed.Receiver.Received, r => r.EventId == "evt_sample000000000000003"
            && JsonDocument.Parse(r.Body).RootElement.GetProperty("statusVersion").GetInt64() == 3);

        // Lambda retries the batch from the failed record: replaying it creates nothing twice.
        await _function.Handle(Sample("stream-batch.json"));
        Assert.Equal(2, _bed.Receiver.Count);
    }

    [Fact]
    public async Task A_scheduled_event_sends_the_due_retries()
    {
        await _bed.AddEndpointAsync();
        _bed.Receiver.Behaviour = _ => Reply503();
        await _bed.EmitAsync();
        await _bed.EmitAsync();
        using (var first = JsonDocument.Parse(await _function.Handle(Sample("scheduled.json"))))
            Assert.Equal(2, first.RootElement.GetProperty("retrying").GetInt32());
        using (var early = JsonDocument.Parse(await _function.Handle(Sample("scheduled.json"))))
            Assert.Equal(0, early.RootElement.GetProperty("attempted").GetInt32()); // not due yet

        _bed.Receiver.Behaviour = _ => Molly.Testing.Reply.Ok;
        _bed.Clock.Advance(TimeSpan.FromSeconds(11));
        using var later = JsonDocument.Parse(await _function.Handle(Sample("scheduled.json")));
        Assert.Equal(2, later.RootElement.GetProperty("attempted").GetInt32());
        Assert.Equal(2, later.RootElement.GetProperty("succeeded").GetInt32());
    }

    [Fact]
    public async Task An_unknown_event_is_refused() =>
        await Assert.ThrowsAsync<InvalidDataException>(() => _function.Handle(new MemoryStream("""{"hello":"world"}"""u8.ToArray())));

    private static Molly.Testing.Reply Reply503() => new(503);
}
