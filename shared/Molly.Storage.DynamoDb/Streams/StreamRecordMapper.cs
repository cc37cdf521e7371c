using Molly.Storage;

namespace Molly.Storage.DynamoDb.Streams;

/// <summary>Maps DynamoDB Streams records (JSON) to <see cref="Change"/>s.</summary>
public static class StreamRecordMapper
{
    /// <summary>Width of <see cref="Change.Sequence"/>: stream sequence numbers are decimal strings of varying length,
    /// left-padded so that ordinal comparison is numeric comparison.</summary>
    public const int SequenceWidth = 40;

    public static Change ToChange(StreamRecordEnvelope record)
    {
        ArgumentNullException.ThrowIfNull(record);
        var body = record.Dynamodb ?? throw new InvalidDataException("Stream record has no dynamodb section.");
        if (string.IsNullOrEmpty(body.SequenceNumber) || !body.SequenceNumber.All(char.IsAsciiDigit))
            throw new InvalidDataException($"Stream record has an invalid sequence number '{body.SequenceNumber}'.");
        var kind = record.EventName switch
        {
            "INSERT" => ChangeKind.Insert,
            "MODIFY" => ChangeKind.Modify,
            "REMOVE" => ChangeKind.Remove,
            _ => throw new InvalidDataException($"Stream record has an unknown eventName '{record.EventName}'."),
        };
        var newImage = ToItem(body.NewImage);
        var oldImage = ToItem(body.OldImage);
        var key = ToItem(body.Keys)?.Key ?? newImage?.Key ?? oldImage?.Key
                  ?? throw new InvalidDataException("Stream record has no keys.");
        var committedAt = body.ApproximateCreationDateTime is { } seconds
            ? DateTimeOffset.FromUnixTimeMilliseconds((long)Math.Round(seconds * 1000))
            : DateTimeOffset.UnixEpoch;
        return new Change(PadSequence(body.SequenceNumber), kind, key, oldImage, newImage, committedAt);
    }

    public static string PadSequence(string sequenceNumber) => sequenceNumber.PadLeft(SequenceWidth, '0');

    public static Item? ToItem(Dictionary<string, WireAttributeValue>? image)
    {
        if (image is null || image.Count == 0) return null;
        if (!image.TryGetValue(KeyNames.PK, out var pk) || pk.S is null || !image.TryGetValue(KeyNames.SK, out var sk) || sk.S is null)
            throw new InvalidDataException("A stream image has no string PK/SK.");
        var item = new Item(pk.S, sk.S);
        foreach (var (name, value) in image)
        {
            if (name is KeyNames.PK or KeyNames.SK) continue;
            item[name] = ToValue(name, value);
        }
        return item;
    }

    public static AttributeValue ToValue(string name, WireAttributeValue value)
    {
        if (value.S is not null) return AttributeValue.String(value.S);
        if (value.N is not null) return AttributeValue.Number(AttributeMapper.ParseNumber(value.N));
        if (value.B is not null) return AttributeValue.Binary(value.B);
        if (value.BOOL is { } b) return AttributeValue.Bool(b);
        if (value.NULL == true) return AttributeValue.Null;
        throw new InvalidDataException($"Attribute '{name}' of a stream image has a type the item store does not use.");
    }
}
