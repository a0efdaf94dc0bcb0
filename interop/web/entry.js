// Entry of the browser bundle (built by supertokens/frontend-sdk.mjs with esbuild):
// the real supertokens-website SDK, exposed as window.supertokensSession.
import Session from "supertokens-website";

window.supertokensSession = Session;
