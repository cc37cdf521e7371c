using System.Text.Json;
using Microsoft.Extensions.Options;
using Molly.Api.Endpoints;
using Molly.Api.Hosting;
using Molly.Api.Model;
using Molly.Storage;

namespace Molly.Api.Security;

/// <summary>
/// Local mode: makes sure a first admin credential exists. On first start it writes <c>&lt;DataDir&gt;/admin-credential</c>
/// (mode 0600: key id, secret, principal) and then stores the key; on every start it re-checks that the key in the file is in
/// the store (file first, store second: a crash in between is repaired on the next start). Logs the file's path, never
/// the secret. There is no default password.
/// </summary>
public sealed class AdminBootstrap(
    DataDirectory dataDir, ApiKeys keys, IItemStore store, IOptions<MollyOptions> options, ILogger<AdminBootstrap> logger) : IHostedService
{
    public const string FileName = "admin-credential";

    public async Task StartAsync(CancellationToken ct)
    {
        if (!options.Value.Auth.BootstrapAdminCredential) return;
        dataDir.EnsureExists();
        var path = dataDir.File(FileName);
        if (!File.Exists(path))
        {
            var fresh = keys.Generate(PrincipalId.NewUser(), [Roles.Admin], "bootstrap admin");
            var content = new AdminCredentialFile(fresh.Record.Id.Value, fresh.Secret, fresh.Record.Principal.Value);
            SecureFile.TryCreate(path, JsonSerializer.SerializeToUtf8Bytes(content, ApiJsonContext.Default.AdminCredentialFile));
        }
        var file = JsonSerializer.Deserialize(SecureFile.ReadOwnerOnly(path), ApiJsonContext.Default.AdminCredentialFile)
            ?? throw new InvalidDataException($"{path} is empty.");
        if (!ApiKeyId.TryParse(file.KeyId, out var keyId) || !PrincipalId.TryParse(file.PrincipalId, out var principal))
            throw new InvalidDataException($"{path} does not hold a valid key id and principal.");
        if (await keys.FindAsync(keyId, ct) is null)
        {
            var record = keys.Protect(keyId, principal, [Roles.Admin], "bootstrap admin", file.Secret);
            var user = new Item(TableKeys.User(principal)) { [Attr.Type] = "User", [Attr.Name] = "bootstrap admin", [Attr.Roles] = Roles.Admin };
            try
            {
                await store.TransactWriteAsync([TransactOp.Put(user, Condition.ItemAbsent), TransactOp.Put(keys.ToItem(record), Condition.ItemAbsent)], ct);
            }
            catch (ConditionFailedException)
            {
                // Another process stored it first.
            }
        }
        logger.LogInformation("Admin credential (key id and secret) is in {AdminCredentialPath}", path);
    }

    public Task StopAsync(CancellationToken ct) => Task.CompletedTask;
}
