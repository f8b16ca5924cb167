using System.Collections.Concurrent;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Playwright;
using Orleans.Im.Conversations;
using Orleans.Im.EdgeHost.Api.Contracts;
using Orleans.Im.Groups;
using Orleans.Im.Messages;
using Orleans.Im.Tests.Infrastructure;
using V1 = Orleans.Im.Protocol.V1;
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
        var alice = await fixture.NewUserAsync("alice");
        var bob = await fixture.NewUserAsync("bob");
        var conversationId = GrainKeys.P2P(alice, bob);
        var url = PageUrl;

        await using var chromium = await HeadlessChromium.LaunchAsync();
        await using var aliceContext = await chromium.Browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1000, Height = 640 } });
        await using var bobContext = await chromium.Browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1000, Height = 640 } });
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

    [Fact]
    public async Task A_group_made_and_changed_while_the_page_is_open_shows_by_name_with_its_notices_as_lines_of_their_own()
    {
        var alice = await fixture.NewUserAsync("alice");
        var bob = await fixture.NewUserAsync("bob");
        var carol = await fixture.NewUserAsync("carol");
        await using var chromium = await HeadlessChromium.LaunchAsync();
        await using var context = await chromium.Browser.NewContextAsync();
        var page = await SignInAsync(context, PageUrl, bob);

        // Alice makes a group with bob (through the cluster, as another device would): bob's list shows it by its name,
        // which the page had no way to know before, with the group's notice as its preview.
        var groupId = GrainKeys.NewGroup();
        var group = fixture.Orleans.GetGrain<IConversationGrain>(groupId);
        Assert.Equal(AccessStatus.Ok, (await group.CreateGroupAsync(new CreateGroupRequest(alice, "Weekend", [bob]))).Status);
        var entry = page.Locator($"li[data-conversation='{groupId}']");
        await Expect(entry.Locator(".title")).ToHaveTextAsync("Weekend");
        await Expect(entry.Locator(".preview")).ToHaveTextAsync($"{alice} created the group \"Weekend\"");

        // Open, the notice is a line across the pane with nothing to edit or recall; one that comes live joins it.
        await entry.ClickAsync();
        var notices = page.Locator("[data-testid=message].notice");
        await Expect(notices).ToHaveTextAsync([$"{alice} created the group \"Weekend\""]);
        Assert.Equal(AccessStatus.Ok, (await group.AddMembersAsync(alice, [carol])).Status);
        await Expect(notices).ToHaveTextAsync([$"{alice} created the group \"Weekend\"", $"{alice} added {carol}"]);
        Assert.Equal(0, await notices.Locator("button").CountAsync());

        // Alice renames it: the list and the pane take the new name from its notice.
        Assert.Equal(AccessStatus.Ok, (await group.RenameGroupAsync(alice, "Long weekend")).Status);
        await Expect(notices.Last).ToHaveTextAsync($"{alice} renamed the group \"Long weekend\"");
        await Expect(entry.Locator(".title")).ToHaveTextAsync("Long weekend");
        await Expect(page.Locator("#chat-title")).ToHaveTextAsync("Long weekend");

        // Alice dissolves it: its notice comes live, and the pane says so and takes no more messages, then as after a reload.
        await Expect(page.Locator("#composer")).ToBeVisibleAsync();
        Assert.Equal(AccessStatus.Ok, (await group.DissolveGroupAsync(alice)).Status);
        await Expect(notices.Last).ToHaveTextAsync($"{alice} dissolved the group");
        await Expect(page.Locator("#chat-title")).ToHaveTextAsync("Long weekend (dissolved)");
        await Expect(page.Locator("#composer")).ToBeHiddenAsync();
        await page.ReloadAsync();
        await entry.ClickAsync();
        await Expect(page.Locator("#chat-title")).ToHaveTextAsync("Long weekend (dissolved)");
        await Expect(page.Locator("#composer")).ToBeHiddenAsync();
    }

    [Fact]
    public async Task A_group_renamed_while_the_page_was_away_shows_its_new_name_once_it_is_back()
    {
        var (alice, bob) = (await fixture.NewUserAsync("alice"), await fixture.NewUserAsync("bob"));
        var groupId = GrainKeys.NewGroup();
        var group = fixture.Orleans.GetGrain<IConversationGrain>(groupId);
        Assert.Equal(AccessStatus.Ok, (await group.CreateGroupAsync(new CreateGroupRequest(alice, "Old name", [bob]))).Status);
        await using var chromium = await HeadlessChromium.LaunchAsync();
        await using var context = await chromium.Browser.NewContextAsync();
        var page = await context.NewPageAsync();
        var link = await HubLink.RouteAsync(page);
        await SignInAsync(page, PageUrl, bob);
        var entry = page.Locator($"li[data-conversation='{groupId}']");
        await Expect(entry.Locator(".title")).ToHaveTextAsync("Old name");

        // While the page is away the group is renamed, and a message follows: the rename is not its last message.
        await link.CutAsync(stayDown: true);
        await Expect(page.Locator("#status")).Not.ToHaveClassAsync(Online, new() { Timeout = ConnectPatience });
        Assert.Equal(AccessStatus.Ok, (await group.RenameGroupAsync(alice, "New name")).Status);
        Assert.Equal(SendStatus.Sent, (await group.SendAsync(new SendRequest(alice, null, Guid.NewGuid().ToString("N"), MessageContent.FromText("hi")))).Status);
        link.Restore();
        await Expect(page.Locator("#status")).ToHaveClassAsync(Online, new() { Timeout = ConnectPatience });
        await Expect(entry.Locator(".preview")).ToHaveTextAsync("hi");
        await Expect(entry.Locator(".title")).ToHaveTextAsync("New name");
    }

    [Fact]
    public async Task A_group_made_on_the_page_hides_its_history_from_new_members_unless_asked_and_a_newcomer_sees_from_their_join()
    {
        var (alice, bob, carol) = (await fixture.NewUserAsync("alice"), await fixture.NewUserAsync("bob"), await fixture.NewUserAsync("carol"));
        await using var chromium = await HeadlessChromium.LaunchAsync();
        await using var alicesContext = await chromium.Browser.NewContextAsync();
        var alicesPage = await SignInAsync(alicesContext, PageUrl, alice);

        // Alice makes two groups with bob on the page: one as the form comes, one with the switch on.
        var hiding = await CreateGroupOnPageAsync(alicesPage, "Surprise party", bob, showHistory: false);
        var showing = await CreateGroupOnPageAsync(alicesPage, "Book club", bob, showHistory: true);
        Assert.False(await alicesPage.Locator("#new-group-history").IsCheckedAsync());
        foreach (var (groupId, hides) in new[] { (hiding, true), (showing, false) })
        {
            var group = fixture.Orleans.GetGrain<IConversationGrain>(groupId);
            Assert.Equal(hides, (await group.GetGroupAsync(alice)).Group!.HidesHistoryFromNewMembers);
            var before = await group.SendAsync(new SendRequest(alice, null, Guid.NewGuid().ToString("N"), MessageContent.FromText("said before carol came")));
            Assert.Equal(SendStatus.Sent, before.Status);
            Assert.Equal(AccessStatus.Ok, (await group.AddMembersAsync(alice, [carol])).Status);
            if (hides)
            {
                // Alice answers it after carol came: carol sees the answer, and that it quotes what she cannot read.
                var answer = MessageContent.FromText("about that") with { ReplyToSeq = before.Seq };
                Assert.Equal(SendStatus.Sent, (await group.SendAsync(new SendRequest(alice, null, Guid.NewGuid().ToString("N"), answer))).Status);
            }
        }

        // Carol, added to both: the first shows from the notice that added her, and says why; the second shows it all.
        await using var carolsContext = await chromium.Browser.NewContextAsync();
        var carolsPage = await SignInAsync(carolsContext, PageUrl, carol);
        await carolsPage.Locator($"li[data-conversation='{hiding}']").ClickAsync();
        await Expect(carolsPage.Locator("[data-testid=message].notice")).ToHaveTextAsync([$"{alice} added {carol}"]);
        await Expect(carolsPage.Locator("[data-testid=message]:not(.notice) .text")).ToHaveTextAsync(["about that"]);
        await Expect(carolsPage.Locator("[data-testid=message] .quote")).ToHaveTextAsync(["A message from before you joined"]);
        await Expect(carolsPage.Locator("[data-testid=history-start]")).ToHaveTextAsync("Messages from before you joined are not shown to you.");
        await carolsPage.Locator($"li[data-conversation='{showing}']").ClickAsync();
        await Expect(carolsPage.Locator("[data-testid=message]:not(.notice) .text")).ToHaveTextAsync(["said before carol came"]);
        await Expect(carolsPage.Locator("[data-testid=history-start]")).ToHaveCountAsync(0);
    }

    /// <summary>Creates a group with <paramref name="memberId"/> on the page's form, and answers its id once the page opens it.</summary>
    private static async Task<string> CreateGroupOnPageAsync(IPage page, string name, string memberId, bool showHistory)
    {
        await page.FillAsync("#new-group-name", name);
        await page.FillAsync("#new-group-members", memberId);
        await page.Locator("#new-group-history").SetCheckedAsync(showHistory);
        await page.ClickAsync("#new-group-create");
        await Expect(page.Locator("#chat-title")).ToHaveTextAsync(name);
        var entry = page.Locator("li[data-conversation]", new() { HasText = name });
        return (await entry.GetAttributeAsync("data-conversation"))!;
    }

    [Fact]
    public async Task A_page_left_open_past_its_access_tokens_life_renews_it_and_reconnects_after_a_drop()
    {
        // An edge host whose access tokens live seconds, not minutes.
        var lifetime = TimeSpan.FromSeconds(6);
        await using var edge = await StartEdgeAsync(lifetime);
        var alice = await fixture.NewUserAsync("alice");
        var bob = await fixture.NewUserAsync("bob");
        var url = $"http://127.0.0.1:{edge.Endpoints.HttpPort}/";

        await using var chromium = await HeadlessChromium.LaunchAsync();
        await using var context = await chromium.Browser.NewContextAsync();
        var page = await context.NewPageAsync();
        var link = await HubLink.RouteAsync(page);
        await SignInAsync(page, url, alice);
        var firstToken = await page.EvaluateAsync<string>("sessionStorage.getItem('im.token')");

        // Past the first token's life: the edge refuses it now.
        await Task.Delay(lifetime + TimeSpan.FromSeconds(2));
        using (var http = fixture.Http(edge.Endpoints.HttpPort))
        using (var call = new HttpRequestMessage(HttpMethod.Get, "/api/groups"))
        {
            call.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", firstToken);
            using var refused = await http.SendAsync(call);
            Assert.Equal(System.Net.HttpStatusCode.Unauthorized, refused.StatusCode);
        }

        // The connection drops: the page reconnects, which takes a renewed token, and goes on receiving.
        await link.CutAsync(stayDown: true);
        await Expect(page.Locator("#status")).Not.ToHaveClassAsync(Online, new() { Timeout = ConnectPatience });
        link.Restore();
        await Expect(page.Locator("#status")).ToHaveClassAsync(Online, new() { Timeout = ConnectPatience });
        var renewed = await page.EvaluateAsync<string>("sessionStorage.getItem('im.token')");
        Assert.NotEqual(firstToken, renewed);
        Assert.True(link.Connections >= 2, $"{link.Connections} hub connection(s) reached the edge");

        await using var bobPhone = await fixture.ConnectAsync(bob);
        await bobPhone.SendTextAsync(GrainKeys.P2P(alice, bob), "still there?");
        var entry = page.Locator($"li[data-conversation='{GrainKeys.P2P(alice, bob)}']");
        await Expect(entry.Locator("[data-testid=unread]")).ToHaveTextAsync("1");
        await entry.ClickAsync();
        await Expect(page.Locator("[data-testid=message]").Last).ToContainTextAsync("still there?");
    }

    [Fact]
    public async Task Tabs_of_one_session_go_on_with_the_tokens_one_of_them_renewed()
    {
        // Access tokens that live seconds, and a spent refresh token that may not repeat its renewal after one second.
        var lifetime = TimeSpan.FromSeconds(6);
        var grace = TimeSpan.FromSeconds(1);
        await using var edge = await StartEdgeAsync(lifetime, grace);
        var alice = await fixture.NewUserAsync("alice");
        var bob = await fixture.NewUserAsync("bob");
        var url = $"http://127.0.0.1:{edge.Endpoints.HttpPort}/";

        await using var chromium = await HeadlessChromium.LaunchAsync();
        await using var context = await chromium.Browser.NewContextAsync();
        var original = await context.NewPageAsync();
        var originalLink = await HubLink.RouteAsync(original);
        await SignInAsync(original, url, alice);

        // The duplicate: a second tab that starts with a copy of the first one's session storage, as a duplicated tab does.
        var copy = await original.EvaluateAsync<string>("JSON.stringify(sessionStorage)");
        var duplicate = await context.NewPageAsync();
        var duplicateLink = await HubLink.RouteAsync(duplicate);
        await OpenWithStorageAsync(duplicate, copy);
        var first = await RefreshTokenOf(duplicate);

        // Past the tokens' life the original reconnects, which renews them and spends the refresh token both tabs hold.
        await Task.Delay(lifetime + TimeSpan.FromSeconds(1));
        await originalLink.CutAsync(stayDown: false);
        var renewed = await Eventually.ReturnsAsync(() => RefreshTokenOf(original), token => token != first, TimeSpan.FromSeconds(20));
        Assert.NotEqual(first, renewed);
        Assert.Equal(renewed, await Eventually.ReturnsAsync(() => RefreshTokenOf(duplicate), token => token == renewed, TimeSpan.FromSeconds(5)));

        // Long past the grace, the duplicate reconnects too: on the tokens it was handed, not on the spent one.
        await Task.Delay(grace + TimeSpan.FromSeconds(1));
        await duplicateLink.CutAsync(stayDown: false);
        var reconnected = await Eventually.ReturnsAsync(() => Task.FromResult(duplicateLink.Connections), n => n >= 2, TimeSpan.FromSeconds(20));
        Assert.True(reconnected >= 2, $"the duplicate reached the hub {reconnected} time(s)");
        await Expect(duplicate.Locator("#status")).ToHaveClassAsync(Online, new() { Timeout = ConnectPatience });
        await Expect(duplicate.Locator("#login")).ToBeHiddenAsync();

        // A tab that slept through the handover (here: a third one opened with the first copy) asks its siblings before it
        // renews, and they give it the tokens: presenting the spent refresh token after the grace would end the session,
        // for every tab, as a stolen token's replay does.
        var sleeper = await context.NewPageAsync();
        await OpenWithStorageAsync(sleeper, copy);
        await Expect(sleeper.Locator("#login")).ToBeHiddenAsync();
        // (The renewed tokens, or newer ones: on a slow run the tabs may have renewed once more since.)
        Assert.NotEqual(first, await RefreshTokenOf(sleeper));

        await using var bobPhone = await fixture.ConnectAsync(bob);
        await bobPhone.SendTextAsync(GrainKeys.P2P(alice, bob), "all tabs?");
        foreach (var page in new[] { original, duplicate, sleeper })
        {
            var entry = page.Locator($"li[data-conversation='{GrainKeys.P2P(alice, bob)}']");
            await Expect(entry.Locator("[data-testid=unread]")).ToHaveTextAsync("1");
        }

        async Task OpenWithStorageAsync(IPage page, string storage)
        {
            await page.GotoAsync(url);
            await page.EvaluateAsync("copy => { for (const [key, value] of Object.entries(JSON.parse(copy))) sessionStorage.setItem(key, value); }", storage);
            await page.ReloadAsync();
            await Expect(page.Locator("#status")).ToHaveClassAsync(Online, new() { Timeout = ConnectPatience });
        }

        static Task<string> RefreshTokenOf(IPage page) => page.EvaluateAsync<string>("sessionStorage.getItem('im.refreshToken') ?? ''");
    }

    [Fact]
    public async Task Two_tabs_of_one_browser_each_take_pushes_and_closing_one_leaves_the_other_receiving()
    {
        var alice = await fixture.NewUserAsync("alice");
        var bob = await fixture.NewUserAsync("bob");
        var url = PageUrl;
        await using var chromium = await HeadlessChromium.LaunchAsync();
        await using var context = await chromium.Browser.NewContextAsync();
        // Two tabs of one browser share its local storage: each is still a device of its own, or the second would take
        // the first one's pushes, and closing it would leave the first one deaf.
        var first = await SignInAsync(context, url, alice);
        var second = await SignInAsync(context, url, alice);
        await using var bobPhone = await fixture.ConnectAsync(bob);
        var conversationId = GrainKeys.P2P(alice, bob);

        await bobPhone.SendTextAsync(conversationId, "to both tabs");
        foreach (var page in new[] { first, second })
        {
            await Expect(page.Locator($"li[data-conversation='{conversationId}'] [data-testid=unread]")).ToHaveTextAsync("1", new() { Timeout = ExpectPatience });
        }

        await second.CloseAsync();
        await bobPhone.SendTextAsync(conversationId, "still there?");
        await Expect(first.Locator($"li[data-conversation='{conversationId}'] [data-testid=unread]")).ToHaveTextAsync("2", new() { Timeout = ExpectPatience });
        await Expect(first.Locator("#status")).ToHaveClassAsync(Online);
    }

    [Fact]
    public async Task A_page_pushed_out_by_the_web_device_limit_stops_where_it_is_and_keeps_its_session_and_unsent_message()
    {
        var alice = await fixture.NewUserAsync("alice");
        var bob = await fixture.NewUserAsync("bob");
        await using var chromium = await HeadlessChromium.LaunchAsync();
        await using var context = await chromium.Browser.NewContextAsync();
        var oldest = await SignInAsync(context, PageUrl, alice);
        await oldest.FillAsync("#new-chat-user", bob);
        await oldest.ClickAsync("#new-chat-start");

        // Five more pages of alice's (the web device limit is five): the one connected longest is made to leave.
        var others = new List<IPage>();
        for (var i = 0; i < 5; i++)
        {
            others.Add(await SignInAsync(context, PageUrl, alice));
        }

        // Before, any kick signed the page out: its tokens and unsent messages dropped, the sign-in form back, and signing
        // in there pushed out the next page in turn. Now it says why and stays, not connecting again by itself.
        await Expect(oldest.Locator("[data-testid=page-note]")).ToContainTextAsync("web device", new() { Timeout = ConnectPatience });
        await Expect(oldest.Locator("#app")).ToBeVisibleAsync();
        Assert.NotNull(await oldest.EvaluateAsync<string?>("sessionStorage.getItem('im.refreshToken')"));
        await oldest.FillAsync("#composer-text", "written after it stopped");
        await oldest.PressAsync("#composer-text", "Enter");
        await Task.Delay(TimeSpan.FromSeconds(3));
        await Expect(oldest.Locator("#status")).Not.ToHaveClassAsync(Online);
        foreach (var page in others)
        {
            await Expect(page.Locator("#status")).ToHaveClassAsync(Online);
        }

        // Reloaded, it is a page of the session again (the longest connected of the others leaves), and what was written
        // goes out.
        await oldest.ReloadAsync();
        await Expect(oldest.Locator("#status")).ToHaveClassAsync(Online, new() { Timeout = ConnectPatience });
        await using var bobPhone = await fixture.ConnectAsync(bob);
        await Eventually.UntilAsync(
            async () => (await bobPhone.PullAsync(GrainKeys.P2P(alice, bob), 0, long.MaxValue, 10)).Messages.Select(m => m.Content.Text).ToList(),
            texts => texts.SequenceEqual(["written after it stopped"]));
    }

    [Fact]
    public async Task A_user_signs_out_another_device_and_changes_the_password_on_the_page()
    {
        var alice = await fixture.NewUserAsync("alice");
        var phone = await fixture.LoginAsync(alice, "phone");
        using var http = fixture.Http();

        await using var chromium = await HeadlessChromium.LaunchAsync();
        await using var context = await chromium.Browser.NewContextAsync();
        var page = await SignInAsync(context, PageUrl, alice);
        await page.ClickAsync("#account summary");
        var devices = page.Locator("[data-testid=device]");
        await Expect(devices).ToHaveCountAsync(2);
        await Expect(devices.Filter(new() { HasText = "this device" })).ToHaveCountAsync(1);

        // The phone is signed out from the page: its token is refused, and the page's own session goes on.
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign out phone" }).ClickAsync();
        await Expect(page.Locator("#devices-note")).ToHaveTextAsync("phone is signed out.");
        await Expect(devices).ToHaveCountAsync(1);
        var phoneStatus = await Eventually.ReturnsAsync(
            async () => (await http.CallAsync(HttpMethod.Get, "/api/sync", phone.AccessToken)).StatusCode,
            s => s == System.Net.HttpStatusCode.Unauthorized, TimeSpan.FromSeconds(30));
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, phoneStatus);

        // A wrong current password is said so, and does not sign the page out; the right one changes it.
        await page.FillAsync("#password-current", "not it");
        await page.FillAsync("#password-new", "battery staple");
        await page.ClickAsync("#password-change");
        await Expect(page.Locator("#password-note")).ToHaveTextAsync("The current password is wrong.");
        await page.FillAsync("#password-current", ApiCalls.Password);
        await page.FillAsync("#password-new", "battery staple");
        await page.ClickAsync("#password-change");
        await Expect(page.Locator("#password-note")).ToContainTextAsync("Password changed");
        await Expect(page.Locator("#status")).ToHaveClassAsync(Online);
        await Expect(page.Locator("#login")).ToBeHiddenAsync();

        using var login = await http.PostAsJsonAsync("/api/auth/login", new LoginBody(alice, "battery staple", "phone", "test"), ApiCalls.Json);
        Assert.Equal(System.Net.HttpStatusCode.OK, login.StatusCode);
    }

    [Fact]
    public async Task A_hidden_page_notifies_counts_in_its_title_and_reads_only_once_it_is_seen()
    {
        await using var beside = await OpenPageBesideBobsPhoneAsync();
        var (alice, bob, conversationId, bobPhone, page) = beside;
        // The browser's notifications, recorded; and a visibility the test sets (headless pages are always visible).
        await page.AddInitScriptAsync("""
            window.__notifications = [];
            window.Notification = class {
              static permission = 'granted';
              static requestPermission() { return Promise.resolve('granted'); }
              constructor(title, options) { this.entry = { title, body: options?.body, closed: false }; window.__notifications.push(this.entry); }
              close() { this.entry.closed = true; }
            };
            Object.defineProperty(document, 'hidden', { configurable: true, get: () => window.__hidden === true });
            window.__setHidden = (hidden) => { window.__hidden = hidden; document.dispatchEvent(new Event('visibilitychange')); };
            """);
        await SignInAndOpenChatAsync(page, alice, bob);
        var pageTitle = await page.TitleAsync();

        // The user switches to another tab, with bob's conversation open: bob writes.
        await page.EvaluateAsync("window.__setHidden(true)");
        await bobPhone.SendTextAsync(conversationId, "are you there?");
        await Expect(page.Locator("[data-testid=message]").Last).ToContainTextAsync("are you there?");
        var notified = await Eventually.ReturnsAsync(
            () => page.EvaluateAsync<string[]>("window.__notifications.map(n => `${n.title}: ${n.body}`)"), n => n.Length > 0);
        Assert.Equal([$"{bob}: are you there?"], notified);
        await Assertions.Expect(page).ToHaveTitleAsync($"(1) {pageTitle}");

        // Not read while unseen: bob gets no receipt.
        await Task.Delay(TimeSpan.FromSeconds(1));
        Assert.DoesNotContain(Drain(bobPhone), e => e.KindCase == V1.Event.KindOneofCase.ReadReceipt);

        // Bob sent a password by mistake and recalls it: the notification showing it goes too, not only the line.
        var mistake = await bobPhone.SendTextAsync(conversationId, "my password is hunter2");
        await Expect(page.Locator("[data-testid=message]").Last).ToContainTextAsync("hunter2");
        await Eventually.UntilAsync(
            () => page.EvaluateAsync<int>("window.__notifications.filter(n => n.body.includes('hunter2')).length"), n => n == 1);
        await bobPhone.RecallAsync(conversationId, mistake.Seq);
        await Expect(page.Locator("[data-testid=message]").Last).ToContainTextAsync("Message recalled");
        Assert.True(await page.EvaluateAsync<bool>("window.__notifications.find(n => n.body.includes('hunter2')).closed"));
        Assert.False(await page.EvaluateAsync<bool>("window.__notifications[0].closed"));

        // Back to the tab: read, the receipt goes to bob, the count leaves the title.
        await page.EvaluateAsync("window.__setHidden(false)");
        await Assertions.Expect(page).ToHaveTitleAsync(pageTitle);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        V1.Event receipt;
        do
        {
            receipt = await bobPhone.Events.ReadAsync(cts.Token);
        }
        while (receipt.KindCase != V1.Event.KindOneofCase.ReadReceipt);
        Assert.Equal((alice, 2L), (receipt.ReadReceipt.ReaderId, receipt.ReadReceipt.Seq));

        // A message seen as it arrives notifies nobody. Bob typing it shows, and goes as the message arrives (it had
        // stayed for seconds after).
        await bobPhone.TypingAsync(conversationId);
        await Expect(page.Locator("[data-testid=typing]")).ToContainTextAsync("typing");
        await bobPhone.SendTextAsync(conversationId, "good");
        await Expect(page.Locator("[data-testid=message]").Last).ToContainTextAsync("good");
        await Expect(page.Locator("[data-testid=typing]")).ToHaveTextAsync("", new() { Timeout = 1_000 });
        Assert.Equal(2, await page.EvaluateAsync<int>("window.__notifications.length"));

        static List<V1.Event> Drain(Client.ImClient client)
        {
            var events = new List<V1.Event>();
            while (client.Events.TryRead(out var e))
            {
                events.Add(e);
            }

            return events;
        }
    }

    [Fact]
    public async Task A_message_over_the_size_limit_is_refused_on_the_page_and_the_connection_stays()
    {
        await using var beside = await OpenPageBesideBobsPhoneAsync();
        var (alice, bob, conversationId, bobPhone, page) = beside;
        await SignInAndOpenChatAsync(page, alice, bob);
        await Expect(page.Locator("#status")).ToHaveClassAsync(Online, new() { Timeout = ConnectPatience });

        // A paste of 70 KB: over the content limit (16 KB), and over the hub's message size, which SignalR answers by
        // closing the connection. Before, the page took that for a drop and sent it again at every reconnect and reload.
        var paste = new string('x', 70 * 1024);
        await page.FillAsync("#composer-text", paste);
        await page.PressAsync("#composer-text", "Enter");
        Assert.Contains("Too long to send", await page.Locator("#composer-text").EvaluateAsync<string>("e => e.validationMessage"), StringComparison.Ordinal);
        Assert.Equal(paste.Length, (await page.InputValueAsync("#composer-text")).Length);
        await Expect(page.Locator("[data-testid=message].mine")).ToHaveCountAsync(0);

        // Shortened, it goes; the page never went offline.
        await page.FillAsync("#composer-text", "the short version");
        await page.PressAsync("#composer-text", "Enter");
        await Expect(page.Locator("[data-testid=message].mine [data-testid=delivery]").Last).ToHaveTextAsync(new System.Text.RegularExpressions.Regex("^(Sent|Read)$"));
        var received = Assert.Single(await bobPhone.TakeAsync(1));
        Assert.Equal(("the short version", conversationId), (received.Content.Text, received.ConversationId));
        await Expect(page.Locator("#status")).ToHaveClassAsync(Online);
    }

    [Fact]
    public async Task A_message_written_while_the_page_is_offline_survives_a_reload_and_goes_out_by_itself_when_it_is_back_and_arrives_once()
    {
        await using var beside = await OpenPageBesideBobsPhoneAsync();
        var (alice, bob, conversationId, bobPhone, page) = beside;
        var link = await HubLink.RouteAsync(page);
        await SignInAndOpenChatAsync(page, alice, bob);

        // The network goes: the page is offline, and what alice writes meanwhile is not sent.
        await link.CutAsync(stayDown: true);
        await Expect(page.Locator("#status")).Not.ToHaveClassAsync(Online, new() { Timeout = ConnectPatience });
        await page.FillAsync("#composer-text", "written in a tunnel");
        await page.PressAsync("#composer-text", "Enter");
        var delivery = page.Locator("[data-testid=message].mine [data-testid=delivery]").Last;
        await Expect(delivery).ToContainTextAsync("Not sent");

        // Alice reloads the page, still offline (often the answer to the grey dot). Before, the message lived in the page
        // alone and was lost with it (the browser only asked first); now it is kept in the browser and shown again.
        await page.ReloadAsync();
        await page.FillAsync("#new-chat-user", bob);
        await page.ClickAsync("#new-chat-start");
        delivery = page.Locator("[data-testid=message].mine [data-testid=delivery]").Last;
        await Expect(page.Locator("[data-testid=message].mine.pending .text")).ToHaveTextAsync("written in a tunnel");
        await Expect(delivery).ToContainTextAsync("Not sent");

        // It comes back: the page reconnects and sends it with its client message id, without alice's help.
        link.Restore();
        await Expect(page.Locator("#status")).ToHaveClassAsync(Online, new() { Timeout = ConnectPatience });
        await Expect(delivery).ToHaveTextAsync(new System.Text.RegularExpressions.Regex("^(Sent|Delivered|Read)$"), new() { Timeout = ConnectPatience });

        var received = Assert.Single(await bobPhone.TakeAsync(1));
        Assert.Equal(("written in a tunnel", conversationId), (received.Content.Text, received.ConversationId));
        await bobPhone.SendTextAsync(conversationId, "out of the tunnel?");
        await Expect(page.Locator("[data-testid=message]").Last).ToContainTextAsync("out of the tunnel?");
        await Expect(page.Locator("[data-testid=message] .text")).ToHaveTextAsync(["written in a tunnel", "out of the tunnel?"]);
    }

    [Fact]
    public async Task An_unsent_message_kept_in_the_browser_for_more_than_a_day_is_dropped_and_a_newer_one_goes_out()
    {
        await using var beside = await OpenPageBesideBobsPhoneAsync();
        var (alice, bob, conversationId, bobPhone, page) = beside;
        await SignInAndOpenChatAsync(page, alice, bob);

        // What an earlier page left in this browser (under the keys of pages from before ':'): one written 25 hours ago
        // (a tab closed without signing out on a shared computer, say), one a minute ago; and what another user, whose
        // id starts with this one's and a '.', left under either key: never this user's to send.
        await page.EvaluateAsync("""
            ([user, conversation]) => {
              const keep = (key, text, age) => localStorage.setItem(key, JSON.stringify({ conversationId: conversation, text, at: Date.now() - age }));
              keep(`im.outbox.${user}.stale1`, 'from yesterday', 25 * 60 * 60 * 1000);
              keep(`im.outbox.${user}.fresh1`, 'from a minute ago', 60 * 1000);
              keep(`im.outbox.${user}.smith.other1`, 'not alice', 30 * 1000);
              keep(`im.outbox.${user}.smith:other2`, 'not alice either', 20 * 1000);
            }
            """, new[] { alice, conversationId });
        await page.ReloadAsync();

        // The newer one goes out with the next connection; the older one is gone from the browser and never sent.
        var received = Assert.Single(await bobPhone.TakeAsync(1));
        Assert.Equal("from a minute ago", received.Content.Text);
        var stored = await fixture.Orleans.GetGrain<IConversationGrain>(conversationId).PullAsync(alice, new PullRequest());
        Assert.Equal(["from a minute ago"], stored.Messages.Select(m => m.Content!.Text));
        var others = new[] { $"im.outbox.{alice}.smith.other1", $"im.outbox.{alice}.smith:other2" };
        Assert.Equal(others, await Eventually.ReturnsAsync(
            () => page.EvaluateAsync<string[]>("Object.keys(localStorage).filter((key) => key.startsWith('im.outbox.')).sort()"), keys => keys.SequenceEqual(others)));
    }

    [Fact]
    public async Task A_page_whose_edge_closes_its_connection_connects_again_and_sends_what_was_written_meanwhile()
    {
        await using var beside = await OpenPageBesideBobsPhoneAsync();
        var (alice, bob, conversationId, bobPhone, page) = beside;
        var link = await HubLink.RouteAsync(page);
        await SignInAndOpenChatAsync(page, alice, bob);
        var before = link.Connections;

        // The edge ends the connection itself, as a draining edge does after its redirect: SignalR tells the page not to
        // reconnect. Before, the page stayed offline until reloaded, and what was written meanwhile never went.
        await link.CloseFromEdgeAsync(stayDown: true);
        await Expect(page.Locator("#status")).Not.ToHaveClassAsync(Online, new() { Timeout = ConnectPatience });
        await page.FillAsync("#composer-text", "written as the edge went away");
        await page.PressAsync("#composer-text", "Enter");
        var delivery = page.Locator("[data-testid=message].mine [data-testid=delivery]").Last;
        await Expect(delivery).ToContainTextAsync("Not sent");

        link.Restore();
        await Expect(page.Locator("#status")).ToHaveClassAsync(Online, new() { Timeout = ConnectPatience });
        await Expect(delivery).ToHaveTextAsync(new System.Text.RegularExpressions.Regex("^(Sent|Delivered|Read)$"), new() { Timeout = ConnectPatience });
        var received = Assert.Single(await bobPhone.TakeAsync(1));
        Assert.Equal(("written as the edge went away", conversationId), (received.Content.Text, received.ConversationId));
        Assert.True(link.Connections > before, "the page did not open a new hub connection");
    }

    [Fact]
    public async Task A_send_refused_for_the_moment_is_sent_again_by_itself_with_its_id()
    {
        // An edge whose per-user send budget refills one message every 5 s: the second of two quick messages is refused
        // (rate_limited, a refusal for the moment) and must go once the budget allows, without the user's help.
        await using var edge = await fixture.Cluster.StartEdgeAsync(new Dictionary<string, string>(fixture.AuthSettings)
        {
            ["IM__Edge__UserSendRatePerSecond"] = "0.2",
            ["IM__Edge__UserSendBurst"] = "1",
        });
        await using var beside = await OpenPageBesideBobsPhoneAsync();
        var (alice, bob, conversationId, bobPhone, page) = beside;
        await SignInAsync(page, $"http://127.0.0.1:{edge.Endpoints.HttpPort}/", alice);
        await page.FillAsync("#new-chat-user", bob);
        await page.ClickAsync("#new-chat-start");
        await page.FillAsync("#composer-text", "one");
        await page.PressAsync("#composer-text", "Enter");
        await page.FillAsync("#composer-text", "two");
        await page.PressAsync("#composer-text", "Enter");

        var delivery = page.Locator("[data-testid=message].mine [data-testid=delivery]");
        await Expect(delivery).ToHaveTextAsync([new System.Text.RegularExpressions.Regex("^(Sent|Delivered|Read)$"), new System.Text.RegularExpressions.Regex("^(Sent|Delivered|Read)$")],
            new() { Timeout = 30_000 });
        var received = await bobPhone.TakeAsync(2);
        Assert.Equal(["one", "two"], received.Select(m => m.Content.Text));
        Assert.All(received, m => Assert.Equal(conversationId, m.ConversationId));
    }

    [Fact]
    public async Task A_message_recalled_while_the_page_is_offline_shows_as_recalled_once_it_is_back()
    {
        await using var beside = await OpenPageBesideBobsPhoneAsync();
        var (alice, bob, conversationId, bobPhone, page) = beside;
        var link = await HubLink.RouteAsync(page);
        await SignInAndOpenChatAsync(page, alice, bob);
        await bobPhone.SendTextAsync(conversationId, "meant for someone else");
        await bobPhone.SendTextAsync(conversationId, "hello alice");
        await Expect(page.Locator("[data-testid=message] .text")).ToHaveTextAsync(["meant for someone else", "hello alice"]);

        // Recalled while the page is away: the push goes nowhere, and the page's catch-up pulls only what is newer.
        await link.CutAsync(stayDown: true);
        await Expect(page.Locator("#status")).Not.ToHaveClassAsync(Online, new() { Timeout = ConnectPatience });
        await bobPhone.RecallAsync(conversationId, 1);

        link.Restore();
        await Expect(page.Locator("#status")).ToHaveClassAsync(Online, new() { Timeout = ConnectPatience });
        await Expect(page.Locator("[data-testid=message] .text")).ToHaveTextAsync(["Message recalled", "hello alice"], new() { Timeout = ConnectPatience });
    }

    [Fact]
    public async Task Pulls_the_edge_could_not_answer_are_asked_again_when_a_conversation_opens_and_after_a_reconnect()
    {
        await using var beside = await OpenPageBesideBobsPhoneAsync();
        var (alice, bob, conversationId, bobPhone, page) = beside;
        var link = await HubLink.RouteAsync(page);
        await bobPhone.SendTextAsync(conversationId, "first");

        // The conversation's first Pull is answered `unavailable` (a silo failing over): the pane says so and asks again.
        link.FailNextPulls(1);
        await SignInAndOpenChatAsync(page, alice, bob);
        await Expect(page.Locator("[data-testid=message] .text")).ToHaveTextAsync(["first"]);
        await Expect(page.Locator("[data-testid=pane-note]")).ToHaveCountAsync(0);
        Assert.Equal(1, link.PullsFailed);

        // Away while bob writes; back, the catch-up's Pulls go unanswered twice. Before, the first failure was dropped:
        // the pane lacked bob's message until his next one.
        await link.CutAsync(stayDown: true);
        await Expect(page.Locator("#status")).Not.ToHaveClassAsync(Online, new() { Timeout = ConnectPatience });
        await bobPhone.SendTextAsync(conversationId, "while you were away");
        link.FailNextPulls(2);
        link.Restore();
        await Expect(page.Locator("#status")).ToHaveClassAsync(Online, new() { Timeout = ConnectPatience });
        await Expect(page.Locator("[data-testid=message] .text")).ToHaveTextAsync(["first", "while you were away"], new() { Timeout = ConnectPatience });
        Assert.Equal(3, link.PullsFailed);
    }

    [Fact]
    public async Task A_window_taller_than_the_newest_page_loads_older_pages_until_it_can_scroll()
    {
        await using var beside = await OpenPageBesideBobsPhoneAsync();
        var (alice, bob, conversationId, bobPhone, page) = beside;
        for (var i = 1; i <= 40; i++)
        {
            await bobPhone.SendTextAsync(conversationId, $"line {i}");
        }

        // The newest page (30) fits this window with room to spare: no scrollbar, so no scroll to the top. Before, the
        // first ten messages could never be shown.
        await page.SetViewportSizeAsync(1280, 2400);
        await SignInAndOpenChatAsync(page, alice, bob);
        await Expect(page.Locator("[data-testid=message] .text").First).ToHaveTextAsync("line 1");
        await Expect(page.Locator("[data-testid=message]")).ToHaveCountAsync(40);
    }

    [Fact]
    public async Task The_unread_badge_drops_what_was_recalled_or_superseded_before_it_was_read_and_the_pane_shows_neither()
    {
        await using var beside = await OpenPageBesideBobsPhoneAsync();
        var (alice, _, conversationId, bobPhone, page) = beside;
        await SignInAsync(page, PageUrl, alice);
        await bobPhone.SendTextAsync(conversationId, "meant for someone else");
        await bobPhone.SendTextAsync(conversationId, "hello alice");
        var unread = page.Locator($"li[data-conversation='{conversationId}'] [data-testid=unread]");
        await Expect(unread).ToHaveTextAsync("2");

        await bobPhone.RecallAsync(conversationId, 1);
        await Expect(unread).ToHaveTextAsync("1");

        // An order's notices with one collapse key: only the newest is there to read.
        foreach (var text in new[] { "order paid", "order shipped" })
        {
            var ack = await bobPhone.SendAsync(conversationId, new V1.Content { Type = V1.ContentType.Text, Text = text },
                messageClass: V1.MessageClass.Notification, collapseKey: "order-1");
            Assert.True(ack.Seq > 0, ack.ToString());
        }

        // Once the list shows the newest notice the page has counted both (3, without the collapse); the server's word
        // that the first was superseded takes it out again.
        await Expect(page.Locator($"li[data-conversation='{conversationId}'] .preview")).ToHaveTextAsync("order shipped");
        await Expect(unread).ToHaveTextAsync("2");
        await page.Locator($"li[data-conversation='{conversationId}']").ClickAsync();
        await Expect(page.Locator("[data-testid=message] .text")).ToHaveTextAsync(["Message recalled", "hello alice", "order shipped"]);
        await Expect(unread).ToHaveAttributeAsync("data-count", "0");
    }

    [Fact]
    public async Task An_official_accounts_superseded_notice_leaves_the_badge_while_the_page_is_open_without_a_sync()
    {
        await using var beside = await OpenPageBesideBobsPhoneAsync();
        var (alice, _, _, _, page) = beside;
        var account = await fixture.NewUserAsync("parcels");
        var conversationId = GrainKeys.PublicAccount(account);
        var conversation = fixture.Orleans.GetGrain<IConversationGrain>(conversationId);
        Assert.Equal(AccessStatus.Ok, await conversation.SetupPublicAccountAsync("Parcels", []));
        Assert.Equal(AccessStatus.Ok, await conversation.SubscribeAsync(alice));
        await SignInAsync(page, PageUrl, alice);

        // Read diffusion: the page hears of these straight from the account (its entry on the server moves only at sync).
        foreach (var text in new[] { "parcel on its way", "parcel delivered" })
        {
            var sent = await conversation.SendAsync(new SendRequest(account, null, Guid.NewGuid().ToString("N"),
                MessageContent.FromText(text), MessageClass.Notification, "parcel-1"));
            Assert.Equal(SendStatus.Sent, sent.Status);
        }

        var entry = page.Locator($"li[data-conversation='{conversationId}']");
        await Expect(entry.Locator(".preview")).ToHaveTextAsync("parcel delivered");
        await Expect(entry.Locator("[data-testid=unread]")).ToHaveTextAsync("1");
    }

    [Fact]
    public async Task A_reply_quotes_the_message_it_answers_for_both_sides_and_the_quote_follows_a_recall()
    {
        await using var beside = await OpenPageBesideBobsPhoneAsync();
        var (alice, bob, conversationId, bobPhone, page) = beside;
        await SignInAndOpenChatAsync(page, alice, bob);
        await bobPhone.SendTextAsync(conversationId, "lunch at noon?");
        await bobPhone.SendTextAsync(conversationId, "or later");
        await Expect(page.Locator("[data-testid=message] .text")).ToHaveTextAsync(["lunch at noon?", "or later"]);

        // Alice answers the first, not the last: the composer says which, and her message shows it above its text.
        await page.Locator("[data-testid=message]").First.GetByRole(AriaRole.Button, new() { Name = "reply" }).ClickAsync();
        await Expect(page.Locator("[data-testid=reply-bar]")).ToContainTextAsync($"Replying to {bob}: lunch at noon?");
        await page.FillAsync("#composer-text", "noon is fine");
        await page.PressAsync("#composer-text", "Enter");
        await Expect(page.Locator("[data-testid=reply-bar]")).ToBeHiddenAsync();
        var mine = page.Locator("[data-testid=message].mine").Last;
        await Expect(mine.Locator("[data-testid=delivery]")).ToHaveTextAsync("Sent");
        await Expect(mine.Locator("[data-testid=quote]")).ToHaveTextAsync($"{bob}: lunch at noon?");

        // Bob's phone gets what it answers, by seq; the page shows the quote as the quoted message is now.
        var atBob = (await bobPhone.TakeAsync(3))[^1];
        Assert.Equal(("noon is fine", 1L), (atBob.Content.Text, atBob.Content.ReplyToSeq));
        await bobPhone.RecallAsync(conversationId, 1);
        await Expect(mine.Locator("[data-testid=quote]")).ToHaveTextAsync($"{bob}: Message recalled");

        // After a reload the quote is rebuilt from the history.
        await page.ReloadAsync();
        await page.Locator($"li[data-conversation='{conversationId}']").ClickAsync();
        await Expect(page.Locator("[data-testid=message].mine [data-testid=quote]")).ToHaveTextAsync($"{bob}: Message recalled");
    }

    [Fact]
    public async Task A_quote_of_a_message_older_than_the_page_shows_is_fetched_and_shows_what_it_says()
    {
        await using var beside = await OpenPageBesideBobsPhoneAsync();
        var (alice, bob, conversationId, bobPhone, page) = beside;
        var first = await bobPhone.SendTextAsync(conversationId, "the first thing I said");
        for (var i = 0; i < 40; i++)
        {
            await bobPhone.SendTextAsync(conversationId, $"chatter {i}");
        }

        await bobPhone.SendAsync(conversationId, new V1.Content { Type = V1.ContentType.Text, Text = "as I said before", ReplyToSeq = first.Seq });

        // The pane opens with the newest page only: the quoted message is not in it, and is pulled for the quote.
        await SignInAndOpenChatAsync(page, alice, bob);
        var last = page.Locator("[data-testid=message]").Last;
        await Expect(last.Locator(".text")).ToHaveTextAsync("as I said before");
        await Expect(last.Locator("[data-testid=quote]")).ToHaveTextAsync($"{bob}: the first thing I said");
        Assert.DoesNotContain(first.Seq, await ShownSeqsAsync(page));
    }

    [Fact]
    public async Task An_edit_asked_while_the_page_is_offline_says_it_could_not_be_done_and_raises_no_page_error()
    {
        await using var beside = await OpenPageBesideBobsPhoneAsync();
        var (alice, bob, _, _, page) = beside;
        var errors = new ConcurrentQueue<string>();
        page.PageError += (_, error) => errors.Enqueue(error);
        var link = await HubLink.RouteAsync(page);
        await SignInAndOpenChatAsync(page, alice, bob);
        await page.FillAsync("#composer-text", "to be edited");
        await page.PressAsync("#composer-text", "Enter");
        await Expect(page.Locator("[data-testid=message].mine [data-testid=delivery]").Last)
            .ToHaveTextAsync(new System.Text.RegularExpressions.Regex("^(Sent|Delivered|Read)$"));

        await link.CutAsync(stayDown: true);
        await Expect(page.Locator("#status")).Not.ToHaveClassAsync(Online, new() { Timeout = ConnectPatience });
        var said = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        page.Dialog += async (_, dialog) =>
        {
            if (dialog.Type == DialogType.Prompt)
            {
                await dialog.AcceptAsync("edited in a tunnel");
                return;
            }

            said.TrySetResult(dialog.Message);
            await dialog.AcceptAsync();
        };
        await page.Locator("[data-testid=message].mine button", new() { HasText = "edit" }).Last.ClickAsync();

        // Said, not thrown: before, the failed call was an unhandled rejection and the user heard nothing.
        Assert.Contains("offline", await said.Task.WaitAsync(TimeSpan.FromSeconds(20)), StringComparison.Ordinal);
        Assert.Empty(errors);
    }

    [Fact]
    public async Task A_page_that_cannot_reach_the_hub_after_signing_in_keeps_trying_and_comes_online()
    {
        await using var beside = await OpenPageBesideBobsPhoneAsync();
        var (alice, bob, _, bobPhone, page) = beside;
        var link = await HubLink.RouteAsync(page);
        await link.CutAsync(stayDown: true);

        // Signed in over HTTP, but the hub cannot be reached: the page stays, offline, and tries again.
        await page.GotoAsync(PageUrl);
        await page.FillAsync("#login-user", alice);
        await page.FillAsync("#login-password", ApiCalls.Password);
        await page.ClickAsync("#login-submit");
        var refused = await Eventually.ReturnsAsync(() => Task.FromResult(link.Refused), n => n >= 2, TimeSpan.FromSeconds(20));
        Assert.True(refused >= 2, $"the page tried the hub {refused} time(s)");
        await Expect(page.Locator("#app")).ToBeVisibleAsync();
        await Expect(page.Locator("#login")).ToBeHiddenAsync();
        await Expect(page.Locator("#status")).Not.ToHaveClassAsync(Online, new() { Timeout = ConnectPatience });

        // The hub is back: the page comes online by itself and receives.
        link.Restore();
        await Expect(page.Locator("#status")).ToHaveClassAsync(Online, new() { Timeout = ConnectPatience });
        await bobPhone.SendTextAsync(GrainKeys.P2P(alice, bob), "there you are");
        var entry = page.Locator($"li[data-conversation='{GrainKeys.P2P(alice, bob)}']");
        await Expect(entry.Locator("[data-testid=unread]")).ToHaveTextAsync("1");
    }

    [Fact]
    public async Task Own_messages_move_their_conversation_up_the_list_and_an_unsent_one_stays_with_its_conversation()
    {
        await using var beside = await OpenPageBesideBobsPhoneAsync();
        var (alice, bob, withBob, bobPhone, page) = beside;
        var carol = await fixture.NewUserAsync("carol");
        var withCarol = GrainKeys.P2P(alice, carol);
        await bobPhone.SendTextAsync(withBob, "from bob");
        using (var http = fixture.Http())
        {
            // Carol does not take alice's messages: what alice writes to her is refused.
            using var blocked = await http.CallAsync(HttpMethod.Put, $"/api/me/blocked/{alice}", (await fixture.LoginAsync(carol)).AccessToken);
            Assert.True(blocked.IsSuccessStatusCode);
        }

        await SignInAsync(page, PageUrl, alice);
        await page.FillAsync("#new-chat-user", carol);
        await page.ClickAsync("#new-chat-start");
        await page.FillAsync("#composer-text", "are you there?");
        await page.PressAsync("#composer-text", "Enter");
        await Expect(page.Locator("[data-testid=message].mine [data-testid=delivery]").Last).ToContainTextAsync("Not sent");

        // Alice answers bob: his conversation takes the top of the list, with her message as its preview.
        var bobEntry = page.Locator($"li[data-conversation='{withBob}']");
        await bobEntry.ClickAsync();
        await page.FillAsync("#composer-text", "from alice");
        await page.PressAsync("#composer-text", "Enter");
        await Expect(bobEntry.Locator(".preview")).ToContainTextAsync("from alice");
        await Expect(page.Locator("[data-testid=conversation]").First).ToHaveAttributeAsync("data-conversation", withBob);

        // Back in carol's: the message that was not sent is still there, with its retry.
        await page.Locator($"li[data-conversation='{withCarol}']").ClickAsync();
        var unsent = page.Locator("[data-testid=message].mine.pending");
        await Expect(unsent.Locator(".text")).ToHaveTextAsync("are you there?");
        await Expect(unsent.Locator("[data-testid=delivery]")).ToContainTextAsync("Not sent");
        await Expect(unsent.Locator("button")).ToHaveTextAsync(["retry", "discard"]);

        // Refused for good, it would go again at every reload: alice discards it, and a reload does not bring it back.
        await unsent.Locator("[data-testid=discard]").ClickAsync();
        await Expect(unsent).ToHaveCountAsync(0);
        await page.ReloadAsync();
        await Expect(page.Locator("#status")).ToHaveClassAsync(Online, new() { Timeout = ConnectPatience });
        await page.FillAsync("#new-chat-user", carol);
        await page.ClickAsync("#new-chat-start");
        await Expect(page.Locator("#composer")).ToBeVisibleAsync();
        await Expect(page.Locator("[data-testid=message].mine.pending")).ToHaveCountAsync(0);
    }

    [Fact]
    public async Task Switching_conversations_quickly_shows_and_marks_read_only_the_one_opened()
    {
        await using var beside = await OpenPageBesideBobsPhoneAsync();
        var (alice, _, withBob, bobPhone, page) = beside;
        var carol = await fixture.NewUserAsync("carol");
        await using var carolPhone = await fixture.ConnectAsync(carol);
        var withCarol = GrainKeys.P2P(alice, carol);
        var slow = await SlowHubCalls.RouteAsync(page);
        await SignInAsync(page, PageUrl, alice);
        foreach (var text in new[] { "bob 1", "bob 2", "bob 3" })
        {
            await bobPhone.SendTextAsync(withBob, text);
        }

        foreach (var text in new[] { "carol 1", "carol 2" })
        {
            await carolPhone.SendTextAsync(withCarol, text);
        }

        var bobEntry = page.Locator($"li[data-conversation='{withBob}']");
        var carolEntry = page.Locator($"li[data-conversation='{withCarol}']");
        await Expect(bobEntry.Locator("[data-testid=unread]")).ToHaveTextAsync("3");
        await Expect(carolEntry.Locator("[data-testid=unread]")).ToHaveTextAsync("2");

        // Bob's history is slow to come; the user opens carol's chat before it does: bob's messages, when they come, are
        // not drawn in carol's pane, and bob's chat, never seen, stays unread.
        slow.Slow("Pull", withBob, TimeSpan.FromSeconds(2));
        await bobEntry.ClickAsync();
        await carolEntry.ClickAsync();
        await Expect(page.Locator("[data-testid=message] .text")).ToHaveTextAsync(["carol 1", "carol 2"]);
        await slow.AnsweredAsync(1);
        await page.WaitForTimeoutAsync(500);
        await Expect(page.Locator("[data-testid=message] .text")).ToHaveTextAsync(["carol 1", "carol 2"]);
        await Expect(page.Locator("#chat-title")).ToHaveTextAsync(carol);
        await Expect(bobEntry.Locator("[data-testid=unread]")).ToHaveTextAsync("3");

        // Bob's chat is opened and shown, but marking it read is slow; the user moves on to carol's: the answer updates
        // bob's entry (read), not carol's.
        slow.Slow("MarkRead", withBob, TimeSpan.FromSeconds(2));
        await bobEntry.ClickAsync();
        await Expect(page.Locator("[data-testid=message] .text")).ToHaveTextAsync(["bob 1", "bob 2", "bob 3"]);
        await carolEntry.ClickAsync();
        await Expect(page.Locator("[data-testid=message] .text")).ToHaveTextAsync(["carol 1", "carol 2"]);
        await slow.AnsweredAsync(2);
        await page.WaitForTimeoutAsync(500);
        await Expect(carolEntry.Locator(".preview")).ToHaveTextAsync("carol 2");
        await Expect(page.Locator("[data-testid=conversation]")).ToHaveCountAsync(2);
        await Expect(bobEntry.Locator("[data-testid=unread]")).ToHaveAttributeAsync("data-count", "0");
    }

    [Fact]
    public async Task An_open_conversation_that_missed_more_than_a_page_while_offline_shows_its_newest_messages_and_reads_them()
    {
        await using var beside = await OpenPageBesideBobsPhoneAsync();
        var (alice, bob, conversationId, bobPhone, page) = beside;
        var link = await HubLink.RouteAsync(page);
        await SignInAsync(page, PageUrl, alice);
        await bobPhone.SendTextAsync(conversationId, "before the tunnel");
        await page.Locator($"li[data-conversation='{conversationId}']").ClickAsync();
        await Expect(page.Locator("[data-testid=message] .text")).ToHaveTextAsync(["before the tunnel"]);

        // Offline while bob writes more than one Pull answers (MessageLimits.MaxPullLimit).
        await link.CutAsync(stayDown: true);
        await Expect(page.Locator("#status")).Not.ToHaveClassAsync(Online, new() { Timeout = ConnectPatience });
        const int Missed = MessageLimits.MaxPullLimit + 50;
        for (var i = 1; i <= Missed; i++)
        {
            await bobPhone.SendTextAsync(conversationId, $"missed {i}");
        }

        // Back: the pane shows the newest, with no hole in it, and they are read up to the newest.
        link.Restore();
        await Expect(page.Locator("#status")).ToHaveClassAsync(Online, new() { Timeout = ConnectPatience });
        await Expect(page.Locator("[data-testid=message]").Last).ToContainTextAsync($"missed {Missed}");
        var seqs = await ShownSeqsAsync(page);
        Assert.Equal(Enumerable.Range((int)seqs[0], seqs.Length).Select(s => (long)s), seqs);
        Assert.Equal(Missed + 1L, seqs[^1]);
        await ReadReceiptAsync(bobPhone, Missed + 1L);

        // Scrolling to the top loads the older ones the pane skipped.
        await page.Locator("[data-testid=messages]").EvaluateAsync("box => { box.scrollTop = 0; box.dispatchEvent(new Event('scroll')); }");
        await Expect(page.Locator($"[data-testid=message][data-seq='{seqs[0] - 1}']")).ToHaveCountAsync(1);
    }

    [Fact]
    public async Task A_message_that_arrives_while_a_conversation_opens_leaves_the_pane_with_the_newest_and_call_signals_draw_nothing()
    {
        await using var beside = await OpenPageBesideBobsPhoneAsync();
        var (alice, _, conversationId, bobPhone, page) = beside;
        var slow = await SlowHubCalls.RouteAsync(page);
        await SignInAsync(page, PageUrl, alice);
        const int Earlier = MessageLimits.MaxPullLimit + 40;
        for (var i = 1; i <= Earlier; i++)
        {
            await bobPhone.SendTextAsync(conversationId, $"earlier {i}");
        }

        var entry = page.Locator($"li[data-conversation='{conversationId}']");
        await Expect(entry.Locator("[data-testid=unread]")).ToHaveTextAsync(Earlier.ToString(System.Globalization.CultureInfo.InvariantCulture));

        // The conversation's history is slow to come, and a message arrives meanwhile, into an empty pane.
        slow.Slow("Pull", conversationId, TimeSpan.FromSeconds(2));
        await entry.ClickAsync();
        await bobPhone.SendTextAsync(conversationId, "while opening");
        await slow.AnsweredAsync(1);
        await Expect(page.Locator("[data-testid=message]").Last).ToContainTextAsync("while opening");
        await page.WaitForTimeoutAsync(500);
        var seqs = await ShownSeqsAsync(page);
        Assert.Equal(Enumerable.Range((int)seqs[0], seqs.Length).Select(s => (long)s), seqs);
        Assert.Equal(Earlier + 1L, seqs[^1]);
        await ReadReceiptAsync(bobPhone, Earlier + 1L);

        // A call signal (an instant message, seq 0, never stored) is no line of the chat.
        Assert.Equal(V1.SendStatus.Sent, (await bobPhone.SendCallSignalAsync(conversationId, """{"kind":"offer"}""")).Status);
        await bobPhone.SendTextAsync(conversationId, "after the call");
        await Expect(page.Locator("[data-testid=message]").Last).ToContainTextAsync("after the call");
        Assert.DoesNotContain(0L, await ShownSeqsAsync(page));
        await Expect(page.Locator("[data-testid=message] .text", new() { HasText = "[custom]" })).ToHaveCountAsync(0);
    }

    [Fact]
    public async Task A_message_pushed_after_the_next_one_still_counts_as_unread_and_shows_in_its_place()
    {
        await using var beside = await OpenPageBesideBobsPhoneAsync();
        var (alice, _, conversationId, bobPhone, page) = beside;
        var frames = await SlowHubCalls.RouteAsync(page);
        await SignInAsync(page, PageUrl, alice);
        await bobPhone.SendTextAsync(conversationId, "1");
        var unread = page.Locator($"li[data-conversation='{conversationId}'] [data-testid=unread]");
        await Expect(unread).ToHaveTextAsync("1");

        // The cluster's one-way calls to the edge are not kept in order: the push of 2 comes right after that of 3.
        frames.PushLate(2, after: 3);
        await bobPhone.SendTextAsync(conversationId, "2");
        await bobPhone.SendTextAsync(conversationId, "3");
        await frames.PushedLateAsync();
        await Expect(unread).ToHaveTextAsync("3");

        await page.Locator($"li[data-conversation='{conversationId}']").ClickAsync();
        await Expect(page.Locator("[data-testid=message] .text")).ToHaveTextAsync(["1", "2", "3"]);
    }

    [Fact]
    public async Task A_conversation_followed_for_long_keeps_a_bounded_pane_and_scrolling_up_loads_what_left_it()
    {
        await using var beside = await OpenPageBesideBobsPhoneAsync();
        var (alice, _, conversationId, bobPhone, page) = beside;
        await SignInAsync(page, PageUrl, alice);
        await bobPhone.SendTextAsync(conversationId, "1");
        await page.Locator($"li[data-conversation='{conversationId}']").ClickAsync();
        await Expect(page.Locator("[data-testid=message] .text")).ToHaveTextAsync(["1"]);

        // Bob writes on while alice follows: the oldest leave the pane.
        const int Written = PaneCap + 60;
        for (var i = 2; i <= Written; i++)
        {
            await bobPhone.SendTextAsync(conversationId, i.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        // (Hundreds of pushes, each a render and some a read mark, on a loaded machine: more than the usual patience.)
        await Expect(page.Locator("[data-testid=message]").Last).ToContainTextAsync(Written.ToString(System.Globalization.CultureInfo.InvariantCulture), new() { Timeout = 2 * ExpectPatience });
        var seqs = await ShownSeqsAsync(page);
        Assert.True(seqs.Length <= PaneCap, $"the pane holds {seqs.Length} messages");
        Assert.Equal(Enumerable.Range((int)seqs[0], seqs.Length).Select(s => (long)s), seqs);
        Assert.Equal(Written, seqs[^1]);

        // Scrolling to the top brings back the ones that left.
        await page.Locator("[data-testid=messages]").EvaluateAsync("box => { box.scrollTop = 0; box.dispatchEvent(new Event('scroll')); }");
        await Expect(page.Locator($"[data-testid=message][data-seq='{seqs[0] - 1}']")).ToHaveCountAsync(1);
    }

    /// <summary>The most messages the page keeps in its pane while the user follows the newest (app.js: MaxShown).</summary>
    private const int PaneCap = 500;

    /// <summary>The seqs of the messages the page shows, in the pane's order.</summary>
    private static async Task<long[]> ShownSeqsAsync(IPage page) =>
        await page.Locator("[data-testid=message][data-seq]").EvaluateAllAsync<long[]>("all => all.map(e => Number(e.dataset.seq))");

    private static readonly System.Text.RegularExpressions.Regex Online = new("online");

    /// <summary>Alice signs in on the page and opens her chat with bob.</summary>
    private async Task SignInAndOpenChatAsync(IPage page, string alice, string bob)
    {
        await SignInAsync(page, PageUrl, alice);
        await page.FillAsync("#new-chat-user", bob);
        await page.ClickAsync("#new-chat-start");
    }

    /// <summary>
    /// Two new users, bob signed in on a phone (the SDK over TCP) and a blank page in a browser of its own for alice to
    /// sign in on, once the test has set up the page (scripts, routes).
    /// </summary>
    private async Task<PageBesidePhone> OpenPageBesideBobsPhoneAsync()
    {
        var alice = await fixture.NewUserAsync("alice");
        var bob = await fixture.NewUserAsync("bob");
        var bobPhone = await fixture.ConnectAsync(bob);
        HeadlessChromium? chromium = null;
        try
        {
            chromium = await HeadlessChromium.LaunchAsync();
            var context = await chromium.Browser.NewContextAsync();
            return new PageBesidePhone(alice, bob, bobPhone, chromium, context, await context.NewPageAsync());
        }
        catch
        {
            if (chromium is not null)
            {
                await chromium.DisposeAsync();
            }

            await bobPhone.DisposeAsync();
            throw;
        }
    }

    /// <summary>What <see cref="OpenPageBesideBobsPhoneAsync"/> opened; disposing it closes the browser, then the phone.</summary>
    private sealed class PageBesidePhone(string alice, string bob, Client.ImClient bobPhone, HeadlessChromium chromium, IBrowserContext context, IPage page)
        : IAsyncDisposable
    {
        public void Deconstruct(out string aliceId, out string bobId, out string conversationId, out Client.ImClient phone, out IPage alicePage) =>
            (aliceId, bobId, conversationId, phone, alicePage) = (alice, bob, GrainKeys.P2P(alice, bob), bobPhone, page);

        public async ValueTask DisposeAsync()
        {
            try
            {
                try
                {
                    await context.DisposeAsync();
                }
                finally
                {
                    await chromium.DisposeAsync();
                }
            }
            finally
            {
                await bobPhone.DisposeAsync();
            }
        }
    }

    /// <summary>An edge host of the fixture's cluster whose access tokens live <paramref name="tokenLifetime"/>.</summary>
    private async Task<RunningEdge> StartEdgeAsync(TimeSpan tokenLifetime, TimeSpan? refreshReuseGrace = null)
    {
        var settings = new Dictionary<string, string>(fixture.AuthSettings) { ["IM__Auth__AccessTokenLifetime"] = tokenLifetime.ToString() };
        if (refreshReuseGrace is { } grace)
        {
            settings["IM__Auth__RefreshTokenReuseGrace"] = grace.ToString();
        }

        return await fixture.Cluster.StartEdgeAsync(settings);
    }

    /// <summary>
    /// How long a page may take to get (or notice losing) its hub connection: an edge host started by the test answers
    /// its first connection slowly on a loaded two-core machine (Playwright's default is 5 s).
    /// </summary>
    private const float ConnectPatience = 20_000;

    /// <summary>How long any other expectation on a page may wait for what it expects (it ends once that shows).</summary>
    private const float ExpectPatience = 15_000;

    /// <summary>Debian's Chromium, headless, under Playwright.</summary>
    private sealed class HeadlessChromium : IAsyncDisposable
    {
        private readonly IPlaywright _playwright;

        private HeadlessChromium(IPlaywright playwright, IBrowser browser) => (_playwright, Browser) = (playwright, browser);

        public IBrowser Browser { get; }

        public static async Task<HeadlessChromium> LaunchAsync()
        {
            Assert.True(File.Exists(ChromiumPath), $"{ChromiumPath} is missing: deploy/test.sh installs Debian's chromium");

            // Every expectation waits on a round trip through an edge host and the cluster (a send, a push, a read
            // receipt) on a loaded two-core machine with Chromium beside it: Playwright's 5 s is too tight for them.
            Assertions.SetDefaultExpectTimeout(ExpectPatience);
            var playwright = await Playwright.CreateAsync();
            try
            {
                return new HeadlessChromium(playwright, await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = ChromiumPath, Headless = true, Args = ChromiumArgs }));
            }
            catch
            {
                playwright.Dispose();
                throw;
            }
        }

        public async ValueTask DisposeAsync()
        {
            await Browser.DisposeAsync();
            _playwright.Dispose();
        }
    }

    /// <summary>
    /// The page's hub connections, passed through the test, which can cut them and refuse new ones as a network outage
    /// would.
    /// </summary>
    private sealed class HubLink
    {
        private readonly List<IWebSocketRoute> _open = [];
        private int _connections;
        private int _refused;
        private int _pullsToFail;
        private int _pullsFailed;
        private volatile bool _down;

        /// <summary>The page's Pull calls answered <c>unavailable</c> by <see cref="FailNextPulls"/> so far.</summary>
        public int PullsFailed => Volatile.Read(ref _pullsFailed);

        /// <summary>The page's next <paramref name="count"/> Pull calls are answered <c>unavailable</c>, as the hub answers one whose grain timed out.</summary>
        public void FailNextPulls(int count) => Volatile.Write(ref _pullsToFail, count);

        /// <summary>Hub connections that reached the edge host so far.</summary>
        public int Connections => Volatile.Read(ref _connections);

        /// <summary>Hub connections refused while down.</summary>
        public int Refused => Volatile.Read(ref _refused);

        public static async Task<HubLink> RouteAsync(IPage page)
        {
            var link = new HubLink();
            await page.RouteWebSocketAsync(new System.Text.RegularExpressions.Regex("/hubs/chat"), link.Open);
            return link;
        }

        /// <summary>Closes the open connections; with <paramref name="stayDown"/>, new ones fail until <see cref="Restore"/>.</summary>
        public async Task CutAsync(bool stayDown)
        {
            foreach (var socket in TakeOpen(stayDown))
            {
                await socket.CloseAsync();
            }
        }

        public void Restore() => _down = false;

        /// <summary>
        /// Ends the open connections as the edge does when it aborts one (after a drain's redirect, in a login storm):
        /// SignalR's close message, which allows no automatic reconnect, then the close. With <paramref name="stayDown"/>,
        /// new ones fail until <see cref="Restore"/>.
        /// </summary>
        public async Task CloseFromEdgeAsync(bool stayDown)
        {
            foreach (var socket in TakeOpen(stayDown))
            {
                socket.Send("{\"type\":7}\u001e");
                await socket.CloseAsync();
            }
        }

        /// <summary>The open connections, no longer this link's; with <paramref name="stayDown"/>, new ones fail until <see cref="Restore"/>.</summary>
        private IWebSocketRoute[] TakeOpen(bool stayDown)
        {
            _down = stayDown;
            lock (_open)
            {
                IWebSocketRoute[] open = [.. _open];
                _open.Clear();
                return open;
            }
        }

        private void Open(IWebSocketRoute socket)
        {
            if (_down)
            {
                Interlocked.Increment(ref _refused);
                _ = socket.CloseAsync();
                return;
            }

            lock (_open)
            {
                _open.Add(socket);
            }

            Interlocked.Increment(ref _connections);
            var server = socket.ConnectToServer();
            socket.OnMessage(frame =>
            {
                if (frame.Text is not { } text)
                {
                    server.Send(frame.Binary ?? []);
                    return;
                }

                // SignalR's JSON records, each ended by a record separator; a frame may carry several.
                var forward = new System.Text.StringBuilder();
                foreach (var record in text.Split('\u001e', StringSplitOptions.RemoveEmptyEntries))
                {
                    if (FailedPull(record) is { } invocationId)
                    {
                        socket.Send($"{{\"type\":3,\"invocationId\":{JsonSerializer.Serialize(invocationId)},\"result\":{{\"error\":\"unavailable\"}}}}\u001e");
                        continue;
                    }

                    forward.Append(record).Append('\u001e');
                }

                if (forward.Length > 0)
                {
                    server.Send(forward.ToString());
                }
            });
        }

        /// <summary>The invocation id of a Pull call to answer as failed (see <see cref="FailNextPulls"/>), or null.</summary>
        private string? FailedPull(string record)
        {
            if (Volatile.Read(ref _pullsToFail) <= 0 || !record.Contains("\"Pull\"", StringComparison.Ordinal))
            {
                return null;
            }

            using var json = JsonDocument.Parse(record);
            if (!json.RootElement.TryGetProperty("target", out var target) || target.GetString() != "Pull"
                || !json.RootElement.TryGetProperty("invocationId", out var id) || Interlocked.Decrement(ref _pullsToFail) < 0)
            {
                return null;
            }

            Interlocked.Increment(ref _pullsFailed);
            return id.GetString();
        }
    }

    /// <summary>
    /// The page's hub connection, passed through the test, which holds back the page's calls of one hub method for one
    /// conversation a while before they go on to the edge, as a slow grain or a congested link would: their answers
    /// come after those of calls made later. It can also hand the page one message's push after the next one's, as the
    /// cluster's one-way calls to the edge sometimes arrive.
    /// </summary>
    private sealed class SlowHubCalls
    {
        /// <summary>Ends each message of SignalR's JSON protocol; a frame may carry several.</summary>
        private const char RecordSeparator = '\u001e';

        private readonly ConcurrentDictionary<string, bool> _held = new(StringComparer.Ordinal); // invocation ids
        private readonly Lock _gate = new();
        private (string Method, string ConversationId, TimeSpan Delay)? _slow;
        private int _answered;
        private (long Seq, long After)? _late;
        private string? _heldPush;
        private readonly TaskCompletionSource _pushedLate = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>From now on, the push of message <paramref name="seq"/> reaches the page right after that of <paramref name="after"/>.</summary>
        public void PushLate(long seq, long after)
        {
            lock (_gate)
            {
                _late = (seq, after);
            }
        }

        /// <summary>Waits until the push held by <see cref="PushLate"/> went to the page after the other.</summary>
        public async Task PushedLateAsync() => await _pushedLate.Task.WaitAsync(TimeSpan.FromSeconds(20));

        public static async Task<SlowHubCalls> RouteAsync(IPage page)
        {
            var calls = new SlowHubCalls();
            await page.RouteWebSocketAsync(new System.Text.RegularExpressions.Regex("/hubs/chat"), calls.Open);
            return calls;
        }

        /// <summary>From now on, the page's calls of <paramref name="method"/> for <paramref name="conversationId"/> wait <paramref name="delay"/>.</summary>
        public void Slow(string method, string conversationId, TimeSpan delay)
        {
            lock (_gate)
            {
                _slow = (method, conversationId, delay);
            }
        }

        /// <summary>Waits until the edge has answered <paramref name="count"/> held calls and the answers went on to the page.</summary>
        public async Task AnsweredAsync(int count)
        {
            var answered = await Eventually.ReturnsAsync(() => Task.FromResult(Volatile.Read(ref _answered)), n => n >= count, TimeSpan.FromSeconds(20));
            Assert.True(answered >= count, $"{answered} of {count} held calls answered");
        }

        private void Open(IWebSocketRoute page)
        {
            var server = page.ConnectToServer();
            page.OnMessage(frame =>
            {
                if (frame.Text is not { } text)
                {
                    server.Send(frame.Binary ?? []);
                    return;
                }

                if (HeldFor(text) is { } delay)
                {
                    _ = Task.Delay(delay).ContinueWith(_ => server.Send(text), TaskScheduler.Default);
                    return;
                }

                server.Send(text);
            });
            server.OnMessage(frame =>
            {
                if (frame.Text is not { } text)
                {
                    page.Send(frame.Binary ?? []);
                    return;
                }

                if (!Reorder(text, page))
                {
                    page.Send(text);
                }

                foreach (var message in Messages(text))
                {
                    if (message.TryGetProperty("invocationId", out var id) && id.GetString() is { } invocationId && _held.TryRemove(invocationId, out _))
                    {
                        Interlocked.Increment(ref _answered);
                    }
                }
            });
        }

        /// <summary>
        /// Holds the frame carrying the push of the late message, and sends it after the frame carrying the other (or,
        /// when one frame carries both, swaps them in it); true when this frame was sent (or held) here.
        /// </summary>
        private bool Reorder(string text, IWebSocketRoute page)
        {
            lock (_gate)
            {
                if (_late is not { } late)
                {
                    return false;
                }

                var seqs = PushedSeqs(text);
                if (_heldPush is null && seqs.Contains(late.Seq) && seqs.Contains(late.After))
                {
                    // Both in one frame (the edge's writer batches what came together): swapped inside it.
                    page.Send(WithPushMovedAfter(text, late.Seq, late.After));
                    _late = null;
                    _pushedLate.TrySetResult();
                    return true;
                }

                if (_heldPush is null && seqs.Contains(late.Seq))
                {
                    _heldPush = text;
                    return true;
                }

                if (_heldPush is { } held && seqs.Contains(late.After))
                {
                    page.Send(text);
                    page.Send(held);
                    _heldPush = null;
                    _late = null;
                    _pushedLate.TrySetResult();
                    return true;
                }

                return false;
            }
        }

        /// <summary><paramref name="frame"/> with the push of message <paramref name="seq"/> moved to right after that of <paramref name="after"/>.</summary>
        private static string WithPushMovedAfter(string frame, long seq, long after)
        {
            var records = new List<string>();
            foreach (var part in frame.Split(RecordSeparator, StringSplitOptions.RemoveEmptyEntries))
            {
                var record = System.Text.Json.Nodes.JsonNode.Parse(part)!.AsObject();
                if (record["target"]?.GetValue<string>() == "Events" && record["arguments"]?[0] is System.Text.Json.Nodes.JsonArray events)
                {
                    var moved = events.FirstOrDefault(e => IsPushOf(e, seq));
                    if (moved is not null && events.Any(e => IsPushOf(e, after)))
                    {
                        events.Remove(moved);
                        events.Insert(events.IndexOf(events.First(e => IsPushOf(e, after))) + 1, moved);
                    }
                }

                records.Add(record.ToJsonString());
            }

            return string.Concat(records.Select(r => r + RecordSeparator));

            static bool IsPushOf(System.Text.Json.Nodes.JsonNode? pushed, long seq) =>
                pushed?["type"]?.GetValue<string>() == "message" && pushed["seq"]?.GetValue<long>() == seq;
        }

        /// <summary>The seqs of the messages an <c>Events</c> call in <paramref name="frame"/> pushes.</summary>
        private static HashSet<long> PushedSeqs(string frame)
        {
            var seqs = new HashSet<long>();
            foreach (var message in Messages(frame))
            {
                if (message.TryGetProperty("target", out var target) && target.GetString() == "Events"
                    && message.TryGetProperty("arguments", out var arguments) && arguments.GetArrayLength() > 0)
                {
                    foreach (var pushed in arguments[0].EnumerateArray())
                    {
                        if (pushed.TryGetProperty("type", out var type) && type.GetString() == "message" && pushed.TryGetProperty("seq", out var seq))
                        {
                            seqs.Add(seq.GetInt64());
                        }
                    }
                }
            }

            return seqs;
        }

        /// <summary>How long to hold a frame from the page: the slowed method's call for the slowed conversation, if it is one.</summary>
        private TimeSpan? HeldFor(string text)
        {
            (string Method, string ConversationId, TimeSpan Delay)? slow;
            lock (_gate)
            {
                slow = _slow;
            }

            if (slow is not { } s)
            {
                return null;
            }

            TimeSpan? delay = null;
            foreach (var message in Messages(text))
            {
                if (message.TryGetProperty("target", out var target) && target.GetString() == s.Method
                    && message.TryGetProperty("arguments", out var arguments) && arguments.GetArrayLength() > 0
                    && arguments[0].GetString() == s.ConversationId
                    && message.TryGetProperty("invocationId", out var id) && id.GetString() is { } invocationId)
                {
                    _held[invocationId] = true;
                    delay = s.Delay;
                }
            }

            return delay;
        }

        private static IEnumerable<JsonElement> Messages(string frame)
        {
            foreach (var part in frame.Split(RecordSeparator, StringSplitOptions.RemoveEmptyEntries))
            {
                using var document = JsonDocument.Parse(part);
                yield return document.RootElement.Clone();
            }
        }
    }

    /// <summary>Waits for <paramref name="phone"/> to receive a read receipt up to <paramref name="seq"/> at least.</summary>
    private static async Task ReadReceiptAsync(Client.ImClient phone, long seq)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var seen = new List<long>();
        try
        {
            while (true)
            {
                var e = await phone.Events.ReadAsync(cts.Token);
                if (e.KindCase != V1.Event.KindOneofCase.ReadReceipt)
                {
                    continue;
                }

                seen.Add(e.ReadReceipt.Seq);
                if (e.ReadReceipt.Seq >= seq)
                {
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"no read receipt up to {seq}; receipts seen: {string.Join(", ", seen)}");
        }
    }

    private static async Task<IPage> SignInAsync(IBrowserContext context, string url, string userId) =>
        await SignInAsync(await context.NewPageAsync(), url, userId);

    private static async Task<IPage> SignInAsync(IPage page, string url, string userId)
    {
        await page.GotoAsync(url);
        await page.FillAsync("#login-user", userId);
        await page.FillAsync("#login-password", ApiCalls.Password);
        await page.ClickAsync("#login-submit");
        await Expect(page.Locator("#app")).ToBeVisibleAsync(new() { Timeout = ConnectPatience });
        await Expect(page.Locator("#status")).ToHaveClassAsync(Online, new() { Timeout = ConnectPatience });
        return page;
    }

    private static ILocatorAssertions Expect(ILocator locator) => Assertions.Expect(locator);

    /// <summary>The web page of the shared edge host.</summary>
    private string PageUrl => $"http://127.0.0.1:{fixture.Edge.Endpoints.HttpPort}/";
}
