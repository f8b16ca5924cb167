using Microsoft.Playwright;
using Orleans.Im.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Orleans.Im.Tests.Web;

/// <summary>The web chat page in a real headless Chromium (Debian's, installed by deploy/test.sh), driven by Playwright.</summary>
[Collection(EdgeGroup.Name)]
[Trait("Category", "Browser")]
public sealed class WebChatBrowserTests(EdgeFixture fixture, ITestOutputHelper output)
{
    private const string ChromiumPath = "/usr/bin/chromium";
    private static readonly string[] ChromiumArgs =
        ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

    [Fact]
    public async Task Alice_and_bob_chat_in_two_browsers_and_bob_sees_the_history_after_a_reload()
    {
        Assert.True(File.Exists(ChromiumPath), $"{ChromiumPath} is missing: deploy/test.sh installs Debian's chromium");
        var alice = await fixture.NewUserAsync("alice");
        var bob = await fixture.NewUserAsync("bob");
        var conversationId = GrainKeys.P2P(alice, bob);
        var url = $"http://127.0.0.1:{fixture.Edge.Endpoints.HttpPort}/";

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = ChromiumPath, Headless = true, Args = ChromiumArgs });
        await using var aliceContext = await browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1000, Height = 640 } });
        await using var bobContext = await browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1000, Height = 640 } });
        var alicePage = await SignInAsync(aliceContext, url, alice);
        var bobPage = await SignInAsync(bobContext, url, bob);

        // Alice starts a chat with bob and writes: pending, then sent.
        await alicePage.FillAsync("#new-chat-user", bob);
        await alicePage.ClickAsync("#new-chat-start");
        await alicePage.FillAsync("#composer-text", "hi bob, from the browser");
        await alicePage.PressAsync("#composer-text", "Enter");
        await Expect(alicePage.Locator("[data-testid=message].mine [data-testid=delivery]").Last).ToHaveTextAsync("Sent");

        // Bob sees the conversation arrive with one unread, opens it, reads it: the count goes to zero.
        var bobEntry = bobPage.Locator($"li[data-conversation='{conversationId}']");
        await Expect(bobEntry.Locator("[data-testid=unread]")).ToHaveTextAsync("1");
        await bobEntry.ClickAsync();
        await Expect(bobPage.Locator("[data-testid=message]").Last).ToContainTextAsync("hi bob, from the browser");
        await Expect(bobEntry.Locator("[data-testid=unread]")).ToHaveAttributeAsync("data-count", "0");

        // Alice sees that bob read it; bob answers; alice receives it in real time.
        await Expect(alicePage.Locator("[data-testid=message].mine [data-testid=delivery]").Last).ToHaveTextAsync("Read");
        await bobPage.FillAsync("#composer-text", "hello alice!");
        await bobPage.PressAsync("#composer-text", "Enter");
        await Expect(alicePage.Locator("[data-testid=message]").Last).ToContainTextAsync("hello alice!");

        // Alice reloads: what bob read is still marked read.
        await alicePage.ReloadAsync();
        await alicePage.Locator($"li[data-conversation='{conversationId}']").ClickAsync();
        await Expect(alicePage.Locator("[data-testid=message].mine [data-testid=delivery]").First).ToHaveTextAsync("Read");

        // Bob reloads: the history is there, in order, and nothing is unread.
        await bobPage.ReloadAsync();
        await Expect(bobPage.Locator("#app")).ToBeVisibleAsync();
        await Expect(bobEntry.Locator("[data-testid=unread]")).ToHaveAttributeAsync("data-count", "0");
        await bobEntry.ClickAsync();
        await Expect(bobPage.Locator("[data-testid=message] .text")).ToHaveTextAsync(["hi bob, from the browser", "hello alice!"]);

        var artifacts = Path.Combine(RepositoryPaths.Root, ".data", "test", "artifacts");
        Directory.CreateDirectory(artifacts);
        var screenshot = Path.Combine(artifacts, "web-chat-bob.png");
        await bobPage.ScreenshotAsync(new PageScreenshotOptions { Path = screenshot });
        await alicePage.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(artifacts, "web-chat-alice.png") });
        output.WriteLine($"screenshots: {screenshot} and web-chat-alice.png beside it");
    }

    private static async Task<IPage> SignInAsync(IBrowserContext context, string url, string userId)
    {
        var page = await context.NewPageAsync();
        await page.GotoAsync(url);
        await page.FillAsync("#login-user", userId);
        await page.FillAsync("#login-password", ApiCalls.Password);
        await page.ClickAsync("#login-submit");
        await Expect(page.Locator("#app")).ToBeVisibleAsync();
        await Expect(page.Locator("#status")).ToHaveClassAsync(new System.Text.RegularExpressions.Regex("online"));
        return page;
    }

    private static ILocatorAssertions Expect(ILocator locator) => Assertions.Expect(locator);
}
