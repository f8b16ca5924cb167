using Npgsql;
using Orleans.Im.Silo;

namespace Orleans.Im.Tests.Foundation;

/// <summary>
/// The silo's PostgreSQL data source settings: no reset of returned connections and automatic preparation, unless the
/// operator's connection string says otherwise.
/// </summary>
[Trait("Category", "Unit")]
public sealed class SiloDataSourceTests
{
    private const string Plain = "Host=127.0.0.1;Port=55432;Database=orleans_im;Username=postgres";

    [Fact]
    public void Defaults_skip_the_reset_and_prepare_statements()
    {
        using var dataSource = SiloHosting.CreateDataSource(Plain);
        var settings = new NpgsqlConnectionStringBuilder(dataSource.ConnectionString);

        Assert.True(settings.NoResetOnClose);
        Assert.Equal(SiloHosting.DefaultMaxAutoPrepare, settings.MaxAutoPrepare);
        Assert.Equal("orleans_im", settings.Database);
    }

    [Theory]
    [InlineData(";No Reset On Close=false;Max Auto Prepare=0")]
    [InlineData(";noresetonclose=false;maxautoprepare=0")]
    public void What_the_connection_string_says_wins(string suffix)
    {
        using var dataSource = SiloHosting.CreateDataSource(Plain + suffix);
        var settings = new NpgsqlConnectionStringBuilder(dataSource.ConnectionString);

        Assert.False(settings.NoResetOnClose);
        Assert.Equal(0, settings.MaxAutoPrepare);
    }
}
