using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Molly.Deposits;

/// <summary>
/// A set of 20-byte addresses built for "is this log's recipient one of ours?" at millions of lookups per second over a
/// million members. Keys are stored densely (20 bytes each, no object per address); an open-addressing table of 64-bit
/// slots (linear probing, load at most 1/2) holds, per member, a 32-bit tag (address bytes 8..12) and the member's position.
/// A lookup hashes the first 8 bytes, probes slots, and touches the dense key only when the tag matches, so the common
/// case (not ours) costs one or two slot reads. About 37 bytes per address at one million (vs about 140 for a
/// HashSet&lt;string&gt; of hex strings). The hash is keyed per instance so crafted addresses cannot aim at one cluster.
/// Not thread-safe for writers; one chain watcher owns its set.
/// </summary>
public sealed class AddressSet
{
    public const int AddressLength = 20;

    private readonly ulong _seed = BinaryPrimitives.ReadUInt64LittleEndian(RandomNumberGenerator.GetBytes(8)) | 1;
    private byte[] _keys;
    private ulong[] _slots;
    private int _shift;

    public AddressSet(int expectedCount = 1024)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(expectedCount);
        var capacity = Math.Max(16, expectedCount);
        _keys = new byte[capacity * AddressLength];
        var slots = (int)Math.Min(1L << 30, Math.Max(32, (long)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)capacity) * 2));
        _slots = new ulong[slots];
        _shift = 64 - System.Numerics.BitOperations.Log2((uint)slots);
    }

    public int Count { get; private set; }

    /// <summary>Bytes held by the set's arrays (keys and slots).</summary>
    public long MemoryBytes => _keys.LongLength + _slots.LongLength * sizeof(ulong);

    /// <summary>Adds an address; false when it was already a member.</summary>
    public bool Add(ReadOnlySpan<byte> address)
    {
        if (address.Length != AddressLength) throw new ArgumentException($"An address is {AddressLength} bytes.", nameof(address));
        if (Find(address) >= 0) return false;
        if ((long)(Count + 1) * 2 > _slots.Length) Grow();
        if ((Count + 1) * AddressLength > _keys.Length)
            Array.Resize(ref _keys, (int)Math.Min(Array.MaxLength, (long)_keys.Length * 2));
        address.CopyTo(_keys.AsSpan(Count * AddressLength));
        Insert(address, Count);
        Count++;
        return true;
    }

    public bool Contains(ReadOnlySpan<byte> address) => address.Length == AddressLength && Find(address) >= 0;

    /// <summary>Looks up 40 hex digits (either case) without allocating; false for anything that is not 40 hex digits.</summary>
    public bool ContainsHex(ReadOnlySpan<char> hex)
    {
        Span<byte> address = stackalloc byte[AddressLength];
        return hex.Length == AddressLength * 2
            && Convert.FromHexString(hex, address, out _, out var written) == OperationStatus.Done
            && written == AddressLength
            && Find(address) >= 0;
    }

    private int Find(ReadOnlySpan<byte> address)
    {
        var tag = BinaryPrimitives.ReadUInt32LittleEndian(address[8..]);
        var mask = _slots.Length - 1;
        var i = Slot(address);
        while (true)
        {
            var slot = _slots[i];
            if (slot == 0) return -1;
            if ((uint)(slot >> 32) == tag)
            {
                var index = (int)(uint)slot - 1;
                if (_keys.AsSpan(index * AddressLength, AddressLength).SequenceEqual(address)) return index;
            }
            i = (i + 1) & mask;
        }
    }

    private void Insert(ReadOnlySpan<byte> address, int index)
    {
        var tag = BinaryPrimitives.ReadUInt32LittleEndian(address[8..]);
        var mask = _slots.Length - 1;
        var i = Slot(address);
        while (_slots[i] != 0) i = (i + 1) & mask;
        _slots[i] = ((ulong)tag << 32) | (uint)(index + 1);
    }

    private int Slot(ReadOnlySpan<byte> address) =>
        (int)(((BinaryPrimitives.ReadUInt64LittleEndian(address) ^ _seed) * 0x9E3779B97F4A7C15UL) >> _shift);

    private void Grow()
    {
        _slots = new ulong[checked(_slots.Length * 2)];
        _shift--;
        for (var k = 0; k < Count; k++) Insert(_keys.AsSpan(k * AddressLength, AddressLength), k);
    }
}
