using Molly.Storage.DynamoDb;
using Xunit;

namespace Molly.Storage.Tests.DynamoDb;

public sealed class ExpressionBuilderTests
{
    [Fact]
    public void User_values_and_names_only_travel_as_placeholders()
    {
        var b = new ExpressionBuilder();
        var text = b.Condition(Condition.And(Condition.AttributeEquals("status", "x) OR attribute_exists(PK"), Condition.VersionEquals(0)))!;

        Assert.DoesNotContain("status", text);
        Assert.DoesNotContain("OR attribute_exists(PK", text);
        Assert.Equal("status", b.Names["#n0"]);
        Assert.Equal("x) OR attribute_exists(PK", b.Values[":v0"].S);
        // VersionEquals(0) also matches a missing attribute (and so a missing item).
        Assert.Equal("(#n0 = :v0 AND (attribute_not_exists(#n1) OR #n1 = :v1))", text);
        Assert.Equal("version", b.Names["#n1"]);
        Assert.Equal("0", b.Values[":v1"].N);
    }

    [Fact]
    public void Update_has_set_add_and_remove_clauses_and_add_is_guarded()
    {
        var b = new ExpressionBuilder();
        var update = new Update().Set("a", "v").Add("n", 5).Remove("gone");
        Assert.Equal("SET #n0 = :v0 ADD #n1 :v1 REMOVE #n2", b.Update(update));
        Assert.Equal("5", b.Values[":v1"].N);
        var guard = b.ConditionWithGuards(null, update)!;
        Assert.Equal("(attribute_not_exists(#n1) OR #n1 BETWEEN :v2 AND :v3)", guard);
        Assert.Equal("-" + new string('9', 38), b.Values[":v2"].N);
        Assert.Equal(new string('9', 37) + "4", b.Values[":v3"].N);
    }

    [Fact]
    public void Empty_update_and_empty_condition_give_no_expression()
    {
        var b = new ExpressionBuilder();
        Assert.Null(b.Update(new Update()));
        Assert.Null(b.Condition(Condition.And()));
        Assert.Null(b.NamesOrNull);
        Assert.Null(b.ValuesOrNull);
    }
}
