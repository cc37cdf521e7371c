using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text;

namespace Molly.Chains.Hd;

/// <summary>A BIP32 derivation path such as <c>m/84'/0'/0'/0/5</c>; <c>'</c>, <c>h</c> or <c>H</c> marks a hardened step.</summary>
public sealed class KeyPath : IEquatable<KeyPath>
{
    public const uint HardenedBit = 0x80000000;

    private readonly uint[] _indexes;

    public KeyPath(params uint[] indexes) => _indexes = (uint[])indexes.Clone();

    public static KeyPath Root { get; } = new();

    public IReadOnlyList<uint> Indexes => _indexes;

    public int Length => _indexes.Length;

    public bool IsFullyHardened => _indexes.All(IsHardened);

    public static bool IsHardened(uint index) => (index & HardenedBit) != 0;

    public KeyPath Derive(uint index) => new([.. _indexes, index]);

    public KeyPath Derive(KeyPath tail) => new([.. _indexes, .. tail._indexes]);

    public static KeyPath Parse(string path)
    {
        if (!TryParse(path, out var result, out var error)) throw new FormatException(error);
        return result;
    }

    public static bool TryParse(string? path, [MaybeNullWhen(false)] out KeyPath result) => TryParse(path, out result, out _);

    public static bool TryParse(string? path, [MaybeNullWhen(false)] out KeyPath result, out string error)
    {
        result = null;
        if (string.IsNullOrWhiteSpace(path))
        {
            error = "Invalid key path: empty.";
            return false;
        }

        var parts = path.Trim().Split('/');
        var start = parts[0] is "m" or "M" ? 1 : 0;
        var indexes = new List<uint>(parts.Length);
        for (var i = start; i < parts.Length; i++)
        {
            var part = parts[i];
            var hardened = part.Length > 0 && part[^1] is '\'' or 'h' or 'H';
            var digits = hardened ? part[..^1] : part;
            if (digits.Length == 0 || !digits.All(char.IsAsciiDigit))
            {
                error = $"Invalid key path '{path}': step {i} ('{part}') is not a number with an optional ' for hardened.";
                return false;
            }

            if (!ulong.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var value) || value >= HardenedBit)
            {
                error = $"Invalid key path '{path}': step {i} ('{part}') is beyond the hardened limit; indexes must be below 2^31 (2147483648), use ' to harden.";
                return false;
            }

            indexes.Add(hardened ? (uint)value | HardenedBit : (uint)value);
        }

        result = new KeyPath([.. indexes]);
        error = string.Empty;
        return true;
    }

    public override string ToString()
    {
        var sb = new StringBuilder("m");
        foreach (var index in _indexes)
        {
            sb.Append('/').Append((index & ~HardenedBit).ToString(CultureInfo.InvariantCulture));
            if (IsHardened(index)) sb.Append('\'');
        }

        return sb.ToString();
    }

    public bool Equals(KeyPath? other) => other is not null && _indexes.AsSpan().SequenceEqual(other._indexes);

    public override bool Equals(object? obj) => Equals(obj as KeyPath);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        foreach (var i in _indexes) hash.Add(i);
        return hash.ToHashCode();
    }
}
