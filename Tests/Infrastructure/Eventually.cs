namespace Orleans.Im.Tests.Infrastructure;

/// <summary>
/// For state reached through one-way notices (fan-out, read positions): asks again until the answer is as expected,
/// for at most 10 seconds (or the patience given), then returns the last answer for the test to assert on.
/// </summary>
public static class Eventually
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    public static async Task<T> ReturnsAsync<T>(Func<Task<T>> ask, Func<T, bool> expected, TimeSpan? patience = null)
    {
        var deadline = DateTime.UtcNow + (patience ?? Patience);
        while (true)
        {
            var answer = await ask();
            if (expected(answer) || DateTime.UtcNow > deadline)
            {
                return answer;
            }

            await Task.Delay(20);
        }
    }
}
