// The web app's entry: read how this visit joins from the address's fragment,
// remove it from the address bar at once (it may hold a token), then show
// the app.
import { render } from "preact";
import { App } from "./views/App";
import { parseJoinLink } from "./state/link";
import "./views/styles.css";

const link = parseJoinLink(window.location.hash);
if (window.location.hash) {
  history.replaceState(null, "", window.location.pathname);
}
// A new link opened in this tab changes only the fragment: start over with it.
window.addEventListener("hashchange", () => {
  if (window.location.hash) window.location.reload();
});
render(<App link={link} />, document.getElementById("app")!);
