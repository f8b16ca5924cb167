using Npgsql;

namespace Orleans.Im.Silo.Storage;

/// <summary>Reads a query's first column, for the stores whose queries list one value per row.</summary>
internal static class FirstColumn
{
    /// <summary>The first column of every row, as text, in the rows' order.</summary>
    public static async Task<IReadOnlyList<string>> StringsAsync(NpgsqlCommand command)
    {
        var values = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            values.Add(reader.GetString(0));
        }

        return values;
    }
}
