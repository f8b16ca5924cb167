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

    /// <summary>
    /// As <see cref="ReturnsAsync"/>, for a wait whose answer the test does not look at: fails when the answer is not as
    /// expected by the deadline (a discarded <see cref="ReturnsAsync"/> went on as if it were, asserting nothing).
    /// </summary>
    public static async Task<T> UntilAsync<T>(Func<Task<T>> ask, Func<T, bool> expected, TimeSpan? patience = null)
    {
        var answer = await ReturnsAsync(ask, expected, patience);
        return expected(answer)
            ? answer
            : throw new TimeoutException($"not as expected within {(patience ?? Patience).TotalSeconds:0.#} s; the last answer: {answer}");
    }
}
