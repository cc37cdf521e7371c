namespace Molly.Api.Security;

/// <summary>Files that hold secrets: created with mode 0600 from the first byte (never chmod-ed after the fact),
/// written to a temp name and renamed so a crash leaves either the old file or the whole new one.</summary>
internal static class SecureFile
{
    public const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>Creates <paramref name="path"/> with the content unless it exists. Returns false when it already existed.</summary>
    public static bool TryCreate(string path, ReadOnlySpan<byte> content)
    {
        var temp = path + ".tmp-" + Environment.ProcessId;
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = OwnerOnly;
        try
        {
            using (var fs = new FileStream(temp, options))
            {
                fs.Write(content);
                fs.Flush(flushToDisk: true);
            }
            try
            {
                File.Move(temp, path, overwrite: false);
            }
            catch (IOException) when (File.Exists(path))
            {
                return false;
            }
            return true;
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    /// <summary>Reads a secret file, refusing one that group or others can read.</summary>
    public static byte[] ReadOwnerOnly(string path)
    {
        if (!OperatingSystem.IsWindows())
        {
            var mode = File.GetUnixFileMode(path);
            if ((mode & ~(OwnerOnly | UnixFileMode.UserExecute)) != 0)
                throw new InvalidOperationException($"{path} is readable by others (mode {Convert.ToString((int)mode, 8)}); chmod 600 it.");
        }
        return File.ReadAllBytes(path);
    }
}
