// The demo page: a token from /demo/token, its Clear Key license URL given to Shaka Player,
// the player's state, frames decoded and error shown; window.demo for the browser test.
'use strict';

const params = new URLSearchParams(location.search);
const stateElement = document.getElementById('state');
window.demo = {frames: 0, error: null, licenseUrl: null, claims: null};

function show(text, kind) {
  stateElement.textContent = text;
  stateElement.className = kind || '';
}

async function showRecords(cookie) {
  if (!cookie) return;
  const answer = await fetch('/demo/record?cookie=' + encodeURIComponent(cookie));
  document.getElementById('records').textContent = JSON.stringify((await answer.json()).records, null, 2);
}

async function main() {
  shaka.polyfill.installAll();
  let licenseUrl = params.get('license');  // a license URL to use again (the test's second play)
  if (!licenseUrl) {
    const answer = await (await fetch('/demo/token?case=' + encodeURIComponent(params.get('case') || 'good'))).json();
    licenseUrl = answer.licenseUrl;
    window.demo.claims = answer.claims;
    document.getElementById('claims').textContent = JSON.stringify(answer.claims, null, 2);
    if (answer.waitSeconds) {
      show('waiting ' + answer.waitSeconds + ' s for the token to expire');
      await new Promise((resolve) => setTimeout(resolve, answer.waitSeconds * 1000));
    }
  }
  window.demo.licenseUrl = licenseUrl;
  const cookie = window.demo.claims ? window.demo.claims.cookie : null;

  const video = document.getElementById('video');
  const player = new shaka.Player();
  await player.attach(video);
  // The page owns the choice of license server: the manifest names none.
  player.configure({drm: {servers: {'org.w3.clearkey': licenseUrl}}});
  const failed = (error) => {
    window.demo.error = error.code;
    show('player error ' + error.code + ' (' + error.category + ')', 'error');
    showRecords(cookie);
  };
  player.addEventListener('error', (event) => failed(event.detail));
  setInterval(() => {
    window.demo.frames = video.getVideoPlaybackQuality().totalVideoFrames;
    if (window.demo.error === null && window.demo.frames > 0) {
      show('playing: ' + window.demo.frames + ' frames decoded, ' + video.currentTime.toFixed(1) + ' s', 'playing');
    }
  }, 250);
  try {
    await player.load('media/manifest.mpd');
    await video.play();
    setTimeout(() => showRecords(cookie), 1000);
  } catch (error) {
    failed(error);
  }
}

main().catch((error) => show('demo error: ' + error, 'error'));
