using Microsoft.AspNetCore.Http.Json;
using Molly.Api.Checkout;
using Molly.Api.Endpoints;
using Molly.Api.Hosting;
using Molly.Api.Http;
using Molly.Api.Payments;
using Molly.Api.Webhooks;

// One program for both runtimes: on AWS behind the Lambda Web Adapter (Molly:Mode=Aws, Molly:Store:Kind=DynamoDb),
// on one machine with embedded defaults (./run.sh). See MollyServices for what differs.
var builder = WebApplication.CreateSlimBuilder(args);

builder.Services.AddMolly(builder.Configuration);
builder.Services.AddMollyPayments(builder.Configuration);
builder.Services.AddMollyWebhooks(builder.Configuration);
builder.Services.AddMollyCheckout(builder.Configuration);
builder.Services.AddOpenApi();
builder.Services.AddProblemDetails();
builder.Services.AddExceptionHandler<ApiExceptionHandler>();
builder.Services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
builder.Services.Configure<JsonOptions>(o =>
{
    o.SerializerOptions.TypeInfoResolverChain.Insert(0, ApiJsonContext.Default);
    o.SerializerOptions.TypeInfoResolverChain.Insert(1, PaymentsApiJsonContext.Default);
    o.SerializerOptions.TypeInfoResolverChain.Insert(2, WebhooksApiJsonContext.Default);
    o.SerializerOptions.TypeInfoResolverChain.Insert(3, CheckoutJsonContext.Default);
    o.SerializerOptions.UnmappedMemberHandling = System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow;
    o.SerializerOptions.RespectNullableAnnotations = true;
    o.SerializerOptions.RespectRequiredConstructorParameters = true;
});

var app = builder.Build();

app.UseExceptionHandler();
app.UseStatusCodePages();
app.UseMiddleware<RequestBodyBuffer>();
app.UseAuthentication();
app.UseAuthorization();
app.UseMerchantPlans();
app.UseRateLimiter();

app.MapSystemApi();
app.MapMeApi();
app.MapAdminApi();
app.MapPaymentsApi();
app.MapBalancesApi();
app.MapWebhooksApi();
app.MapCheckout();
app.MapOpenApi();

app.Run();

public partial class Program;
